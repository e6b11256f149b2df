@loki
Feature: Grafana shows the logs
  Logs are visible in Grafana (plan success criterion 1): the Loki datasource is healthy,
  the "Logs Overview" dashboard is provisioned, and Grafana answers its queries from Loki.

  Background:
    Given the logging stack is running

  @grafana @sc1
  Scenario: Grafana answers the logs dashboard from Loki
    Then Grafana reports the "Loki" datasource healthy
    And Grafana has the "Logs Overview" dashboard
    And Grafana answers every query of the "Logs Overview" dashboard with data
