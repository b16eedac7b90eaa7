package hostcluster

// Every component binds to the node IP on a port off its default, so a developer's own
// components on wildcard addresses and default ports never collide with the host cluster.
const (
	portEtcdClient       = 12379
	portEtcdPeer         = 12380
	portAPIServer        = 16443
	portControllerMgr    = 10357
	portScheduler        = 10359
	portKubelet          = 10350
	portKubeletHealthz   = 10348
	portKubeProxyMetrics = 10349
	portKubeProxyHealthz = 10356
	portDNS              = 1053
	portDNSHealth        = 10353
	portDNSReady         = 10354
)
