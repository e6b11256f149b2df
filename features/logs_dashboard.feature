@logs
Feature: Logs dashboard
  The plan's "Logs Overview" dashboard, as the plan writes it: its panels and their
  queries are stated here, the manifests must provision exactly those, and each query
  returns data from Loki.

  Background:
    Given the plan's "Logs Overview" dashboard:
      | panel                     | type | query                                            |
      | Monitoring Namespace Logs | logs | {namespace="monitoring"}                         |
      | Log Rate by Pod           | stat | sum(rate({namespace="monitoring"}[5m])) by (pod) |

  @dashboard @offline
  Scenario: The manifests provision the plan's logs dashboard
    Then the dashboard in the manifests has exactly these panels and queries

  @loki @sc1 @dashboard
  Scenario: Every panel of the logs dashboard has data
    Given the logging stack is running
    Then every query of the dashboard returns data from Loki
