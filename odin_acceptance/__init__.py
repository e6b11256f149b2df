"""The ODIN Phase-3 acceptance suite: a pytest plugin (loaded through the `pytest11` entry point),
its features, steps and the layers under them. Each subpackage is one layer; a project test
(tests/test_layers.py) keeps lower layers from importing higher ones."""
