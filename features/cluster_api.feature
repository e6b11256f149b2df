@kubernetes @cluster_api
Feature: The cluster accepts and runs the stack
  What the Kubernetes API itself decides: the manifests pass server-side validation, every
  workload rolls out, every Service finds its pods, and the service accounts may do what
  the components need (Promtail reads the pods of its node in every namespace; Prometheus
  discovers the exporters in its own namespace only, so on a shared cluster it never scrapes
  the cluster's own exporters into the verdicts) and no more.

  Background:
    Given the logging stack is running

  @deployed
  Scenario: Every workload of the stack is fully rolled out
    Then every Deployment, StatefulSet and DaemonSet of the stack has all its replicas ready

  @deployed
  Scenario: Every Service of the stack has a ready endpoint
    Then every Service of the stack has a ready endpoint for each of its ports

  @pod_discovery @discovery
  Scenario: Prometheus discovers the exporters of its own namespace only
    A shared cluster runs its own node-exporter and dcgm-exporter pods with the same labels;
    scraping them would mix the cluster's values into these verdicts. On kwok a witness
    Prometheus runs the manifests' discovery jobs in-cluster as the prometheus account.

    Given a pod like the stack's node-exporter, its labels and metrics port included, runs in another namespace
    Then Prometheus's pod discovery scrapes every node-exporter pod of the stack's namespace
    And it discovers no pod of any other namespace, the look-alike included

  @deployed
  Scenario Outline: The <account> service account <may> <verb> <resource> <scope>
    Then the "<account>" service account <may> "<verb>" "<resource>" <scope>

    Examples:
      | account    | may     | verb   | resource  | scope                |
      | promtail   | may     | list   | pods      | in every namespace   |
      | promtail   | may     | watch  | pods      | in every namespace   |
      | promtail   | may not | get    | secrets   | in every namespace   |
      | promtail   | may not | delete | pods      | in every namespace   |
      | prometheus | may     | list   | pods      | in its own namespace |
      | prometheus | may     | watch  | pods      | in its own namespace |
      | prometheus | may not | list   | pods      | in another namespace |
      | prometheus | may not | get    | secrets   | in its own namespace |
