@manifests @offline
Feature: How the manifests deploy the stack
  The plan's manifests carry deployment defects that a run does not show on every target
  (field notes §5). Each is checked in the manifests themselves, so putting one back fails
  here whatever the target.

  Background:
    Given the configuration of the stack from the manifests

  @routing
  Scenario: A single Alertmanager neither gossips nor rolls over its volume
    Then the manifests hold: "Alertmanager runs alone, without gossip, and is replaced rather than rolled"

  @loki_health
  Scenario: Loki is not killed while it recovers
    Then the manifests hold: "Loki's liveness is not its readiness"

  @log_parsing
  Scenario: Promtail survives a restart without re-sending and keeps streams within Loki's limits
    Then the manifests hold: "Promtail keeps its read positions on the node"
    And the manifests hold: "Promtail gives every stream a bounded set of labels"
    And the manifests hold: "Promtail finds the log files of every pod, static control-plane pods included"

  @rules
  Scenario: Prometheus is wired to its rules and to Alertmanager
    Then the manifests hold: "Prometheus evaluates the rules and sends alerts to Alertmanager over its current API"
