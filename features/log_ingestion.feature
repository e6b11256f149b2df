@logs @loki
Feature: Log ingestion
  Logs from all pods are visible (plan success criterion 1): every line a container writes
  reaches Loki, labelled with its namespace, pod and container, stamped with the time the
  container runtime recorded. However many labels a pod carries, its stream keeps within
  Loki's 15 (D19: mapping every pod label makes streams Loki refuses).

  Background:
    Given the logging stack is running

  @sc1 @log_parsing
  Scenario: A marker line is found by the labels of the pod that wrote it
    When a workload carrying 20 pod labels writes a unique marker line
    Then the marker is found in Loki by the workload's namespace, pod and container within 30 seconds
    And the entry carries the time the container runtime recorded, not the time it was read
    And its stream has at most 15 labels

  # "Running container": every container of this run (the stack's and its workloads') that
  # has written a line; a quiet container has nothing to ship, and on a shared cluster the
  # cluster's own containers are not this run's to judge.
  @sc1 @log_parsing
  Scenario: Every running container has a log stream
    Given a workload writes a unique marker line
    Then every running container has a log stream in Loki within 30 seconds

  @sc1 @log_parsing
  Scenario: A steady stream arrives complete, in order, within seconds
    When a workload writes 20 lines per second for 15 seconds
    Then every line it wrote is in Loki, none missing, within 30 seconds of the last one
    And 99 in 100 lines were searchable within 10 seconds of being written
