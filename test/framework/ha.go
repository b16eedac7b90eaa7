package framework

// HAValues is a vkube.yaml for 3 replicas on embedded etcd: the local HA variant of the tests
// and the bench (replicas on 127.0.0.2–4, each given every --peer).
const HAValues = `controlPlane:
  statefulSet:
    highAvailability:
      replicas: 3
  backingStore:
    etcd:
      embedded:
        enabled: true
`
