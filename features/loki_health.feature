@logs @loki @loki_health
Feature: Loki health
  Loki is ready, runs the release this suite pins, enforces the retention the plan's
  checklist promises ("Log retention configured": 31 days here), and its ruler sends
  log-based alerts to Alertmanager.

  Background:
    Given the logging stack is running

  Scenario: Loki is ready and runs the pinned release
    Then Loki reports ready
    And Loki's build version is the one the suite pins

  @retention
  Scenario: Loki enforces its retention period
    Then Loki's running configuration deletes logs older than 31 days

  Scenario: Loki's ruler is wired to Alertmanager
    Then Loki's running configuration sends ruler alerts to an Alertmanager
    And Loki's ruler has loaded the alert "PodErrorBurst"
