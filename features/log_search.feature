@logs @loki @search
Feature: Log search latency
  Log search returns results within 2 seconds (plan success criterion 2), with a realistic
  volume already in Loki.

  Background:
    Given the logging stack is running
    And 100000 log lines from 5 workloads are in Loki

  @sc2
  Scenario Outline: "<search>" returns within 2 seconds
    When an engineer runs the search "<search>" over the last hour 20 times
    Then every run returns results
    And 95 in 100 runs return within 2 seconds

    Examples:
      | search                                  |
      | one pod's lines containing a word       |
      | error lines across the namespace        |
      | lines matching a pattern across the pod |
      | log rate by pod                         |
      | error count by container                |
