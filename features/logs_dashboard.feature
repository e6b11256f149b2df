@logs @loki @dashboard @sc1
Feature: Logs dashboard
  The plan's "Logs Overview" dashboard works: each of its queries runs against Loki without
  error and returns data.

  Background:
    Given the logging stack is running

  Scenario: Every panel of the logs dashboard has data
    Then every query of the "Logs Overview" dashboard returns data from Loki
