"""The target interface (base.py: Target, TargetOptions, Endpoints, the capability names;
parts.py: Cluster, Stack, Nodes and TargetError), below the pipelines and verdicts that use it
and the targets that implement it."""
