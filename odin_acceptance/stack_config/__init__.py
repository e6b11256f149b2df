"""The stack's configuration as the manifests write it: the kustomize tree read into objects,
configs rendered for a run, and the durations they set."""
