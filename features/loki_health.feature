@logs @loki
Feature: Loki health
  Loki is ready, runs the release this suite pins, enforces the retention the plan's
  checklist promises ("Log retention configured"; the period, 31 days, is our decision: the
  plan gives none), and its ruler sends log-based alerts to Alertmanager.

  Background:
    Given the logging stack is running

  @loki_health
  Scenario: Loki is ready and runs the pinned release
    Then Loki reports ready
    And Loki's build version is the one the suite pins

  @retention @loki_health
  Scenario: Loki enforces its retention period
    Then Loki's running configuration deletes logs older than 31 days, our decision (the plan gives no period)

  @loki_health
  Scenario: Loki's ruler is wired to Alertmanager
    Then Loki's running configuration sends ruler alerts to an Alertmanager
    And Loki's ruler has loaded the alert "PodErrorBurst"

  @local_only @loki_persistence @loki_health
  Scenario: Loki answers from its storage for lines written before it was replaced
    Given a workload writes a unique marker line
    And the marker is found in Loki by the workload's namespace, pod and container within 30 seconds
    When Loki is replaced by a new pod
    Then the marker is still found in Loki within 60 seconds
