"""The core every layer builds on: the one polling primitive, the evidence of a run, the error
base, timeouts per operation and the timing profiles. Imports nothing else of the suite."""
