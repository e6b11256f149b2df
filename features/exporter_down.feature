@alerting @local_only
Feature: Exporter down
  Plan: ExporterDown when a scrape target has been down for 5 minutes; severity warning; the
  default receiver. Here the node exporter really stops, so the alert is driven by
  Prometheus's own scrape failing, not by an injected value. (HighMemoryUsage and
  DiskSpaceLow are proven by promtool's rule unit tests only: driving them live would
  exhaust this machine's memory or disk.)

  Background:
    Given the alerting stack is running

  @sc3
  Scenario: A stopped node exporter raises ExporterDown, and its return resolves it
    When the node exporter stops
    Then "ExporterDown" fires for the node-exporter once it has been down for 5 minutes
    And receiver "default-receiver" is notified, with a group wait of 10 seconds
    When the node exporter is back
    Then receiver "default-receiver" is told it is resolved, with a group interval of 10 seconds
