@kubernetes @cluster_api
Feature: The cluster accepts and runs the stack
  What the Kubernetes API itself decides: the manifests pass server-side validation, every
  workload rolls out, every Service finds its pods, and the service accounts may do what
  the components need (Promtail and Prometheus discover pods) and no more.

  Background:
    Given the logging stack is running

  Scenario: Every workload of the stack is fully rolled out
    Then every Deployment, StatefulSet and DaemonSet of the stack has all its replicas ready

  Scenario: Every Service of the stack has a ready endpoint
    Then every Service of the stack has a ready endpoint for each of its ports

  Scenario Outline: Service accounts may do what their component needs, and no more
    Then the "<account>" service account <may> "<verb>" "<resource>" in every namespace

    Examples:
      | account    | may     | verb   | resource  |
      | promtail   | may     | list   | pods      |
      | promtail   | may     | watch  | pods      |
      | promtail   | may not | get    | secrets   |
      | promtail   | may not | delete | pods      |
      | prometheus | may     | list   | pods      |
      | prometheus | may not | get    | secrets   |
