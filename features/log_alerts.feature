@logs @loki @alerting
Feature: Log-based alerting
  Log-based alerts are possible (plan deliverable). The plan gives no rule, so the one here
  is our decision (manifests/DIFFERENCES.md): a pod that logs more than 10 error lines in a
  minute, for 1 minute, raises PodErrorBurst with severity warning, and Alertmanager routes
  it to the default receiver.

  Background:
    Given the logging stack is running

  @log_alerts @sc3
  Scenario: A pod that keeps logging errors alerts the default receiver
    When a workload logs an error line every second
    Then the log alert "PodErrorBurst" fires for the workload's pod once it has held for 1 minute
    And receiver "default-receiver" is told about "PodErrorBurst" for the workload's pod, with a group wait of 10 seconds

  @log_alerts @sc3
  Scenario: A handful of errors stays quiet
    When a workload logs 5 error lines
    Then the log alert "PodErrorBurst" does not fire for the workload's pod while it would hold for 1 minute
