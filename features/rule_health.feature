@alerting
Feature: Rule health
  Every rule the stack loaded evaluates without error. A rule whose query fails never
  fires, however its threshold is set, and no other scenario would notice it.

  @rules @sc3
  Scenario: Every Prometheus rule evaluates without error
    Given the alerting stack is running
    Then every rule group of Prometheus has been evaluated without error

  @loki @rules @sc3
  Scenario: Every rule of Loki's ruler evaluates without error
    Given the logging stack is running
    Then every rule group of Loki's ruler has been evaluated without error
