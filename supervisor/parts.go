package supervisor

import (
	"net"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/binaries"
	"vkube.io/vkube/certs"
	"vkube.io/vkube/distro"
	"vkube.io/vkube/hostside"
)

// locateBinaries finds the distro's binaries before anything is written: a missing one refuses
// the start.
func locateBinaries(d distro.Driver, version string, o *distro.Options) error {
	if d.Needs().SingleBinary {
		bin, err := binaries.FindSingle(d.Name(), version)
		if err != nil {
			return err
		}
		o.Binary = bin
		return nil
	}
	dir, err := binaries.Find(version, d.Binaries(*o)...)
	if err != nil {
		return err
	}
	o.BinDir = dir
	return nil
}

// backendConfig is the datastore's configuration: where it keeps its data, how the distro
// reaches it, and, on embedded etcd, the member this replica is.
func backendConfig(o Options, pki *certs.PKI, reg prometheus.Registerer, needs distro.Needs, host *hostCluster) (backend.Config, error) {
	bc, err := backend.ConfigFor(o.Config, o.Namespace)
	if err != nil {
		return bc, err
	}
	bc.DataDir, bc.Logger, bc.Registerer = filepath.Join(o.DataDir, "datastore"), o.Logger, reg
	bc.ListenTCP = needs.DatastoreTCP
	// On TCP, kine is mutual TLS with the etcd CA, which only vkube signs with (the controller
	// manager signs CSRs with the client CA): a local user or a tenant's CSR gets nothing in.
	bc.LoopbackTLS = backend.LoopbackTLS{
		ServingCert: pki.Path(certs.EtcdServerCert), ServingKey: pki.Path(certs.EtcdServerKey), ClientCA: pki.Path(certs.EtcdCACert),
		Client: backend.TLSFiles{CAFile: pki.Path(certs.EtcdCACert), CertFile: pki.Path(certs.APIServerEtcdClientCert), KeyFile: pki.Path(certs.APIServerEtcdClientKey)},
	}
	if bc.Kind != backend.EtcdEmbedded {
		return bc, nil
	}
	bc.Etcd = backend.EmbeddedEtcdConfig{
		ServerCert: pki.Path(certs.EtcdServerCert), ServerKey: pki.Path(certs.EtcdServerKey),
		PeerCert: pki.Path(certs.EtcdPeerCert), PeerKey: pki.Path(certs.EtcdPeerKey),
		CA:     pki.Path(certs.EtcdCACert),
		Client: backend.TLSFiles{CertFile: pki.Path(certs.APIServerEtcdClientCert), KeyFile: pki.Path(certs.APIServerEtcdClientKey)},
	}
	if len(o.Peers) > 0 {
		if err := etcdMembers(o, &bc.Etcd); err != nil {
			return bc, err
		}
		bc.Etcd.AcknowledgeDataLoss = o.Config.ControlPlane.BackingStore.Etcd.Embedded.AcknowledgeDataLoss
		if host != nil {
			bc.Etcd.Record = &hostside.EtcdRecord{Client: host.client, Namespace: host.namespace, VCluster: o.Config.Name}
		}
	}
	return bc, nil
}

// certOptions says what the PKI is issued for: this cluster's names, the addresses it is reached
// at, and its replicas' etcd peers.
func certOptions(o Options, host *hostCluster) certs.Options {
	cfg := o.Config
	co := certs.Options{Name: cfg.Name, Namespace: o.Namespace, ClusterDomain: cfg.ClusterDomain(), Validity: o.CertValidity}
	for _, san := range cfg.ControlPlane.Proxy.ExtraSANs {
		co.DNSNames = append(co.DNSNames, san)
	}
	// Replicas share one PKI, so its SANs must not name any one replica's own address.
	if len(o.Peers) == 0 {
		for _, a := range []string{o.BindAddress, o.AdvertiseAddress} {
			if ip := net.ParseIP(a); ip != nil && !ip.IsUnspecified() {
				co.IPs = append(co.IPs, ip)
			}
		}
	}
	co.EtcdDNSNames = peerSANs(o)
	if ip := firstServiceIP(cfg.ServiceCIDR()); ip != nil {
		co.IPs = append(co.IPs, ip)
	}
	if host != nil {
		if ip := net.ParseIP(host.apiIP); ip != nil {
			co.IPs = append(co.IPs, ip)
		}
	}
	return co
}

// firstServiceIP is the virtual `kubernetes` Service's ClusterIP.
func firstServiceIP(cidr string) net.IP {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil
	}
	ip := append(net.IP{}, n.IP.To16()...)
	ip[len(ip)-1]++
	return ip
}
