"""Pipelines and stimuli: what the scenarios do to a running stack (GPU temperatures, log
workloads, alerts posted, probes) and how they follow it through the pipeline."""
