"""The suite's pytest plugin, `suite`: loaded only by a run that asks for it (`-p odin_acceptance`,
or this repository's root conftest.py), so an unrelated pytest run in the same environment
is never touched: no option, marker, deselection, skip, file or signal handler of ours.

`suite` is one module per job: `options` and `settings` (the command line and the ini values),
`session` (preconditions, skips, markers), `selection` (which scenarios a run includes),
`ledger` (every scenario's outcome and the record the verdicts are judged from), `run_facts`
(what identifies the run, worked out once), one writer per output (`outputs`: evidence.json,
verdicts.json, the exit code; `cucumber`, `junit`, `html_report`), `terminal` (header and
criteria summary), `state` what they share, and the fixtures and step modules (pytest-bdd's
step decorators register fixtures in the module that calls them, so every feature sees them
only if their modules are plugins)."""
