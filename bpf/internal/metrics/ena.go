package metrics

import (
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/safchain/ethtool"
)

// enaCounters are the ENA driver's ethtool statistics the EKS agent exports
// under the same names (untyped, like the per-pod series, so no _total suffix): packets the instance's allowances made the NIC drop or queue.
var enaCounters = []string{"bw_in_allowance_exceeded", "bw_out_allowance_exceeded",
	"pps_allowance_exceeded", "conntrack_allowance_exceeded"}

var enaDescs = func() map[string]*prometheus.Desc {
	m := map[string]*prometheus.Desc{}
	for _, n := range enaCounters {
		m[n] = prometheus.NewDesc(n, "ENA ethtool statistic "+n+".", []string{"node", "interface"}, nil)
	}
	return m
}()

// enaCollector reads ENA statistics at scrape time from every interface whose
// driver is ena; elsewhere (and outside the host network namespace) it exports nothing.
type enaCollector struct{ node string }

func (c enaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range enaDescs {
		ch <- d
	}
}

func (c enaCollector) Collect(ch chan<- prometheus.Metric) {
	ifs, err := net.Interfaces()
	if err != nil {
		return
	}
	et, err := ethtool.NewEthtool()
	if err != nil {
		return
	}
	defer et.Close()
	for _, i := range ifs {
		if d, err := et.DriverName(i.Name); err != nil || d != "ena" {
			continue
		}
		stats, err := et.Stats(i.Name)
		if err != nil {
			continue
		}
		for _, n := range enaCounters {
			if v, ok := stats[n]; ok {
				ch <- prometheus.MustNewConstMetric(enaDescs[n], prometheus.UntypedValue, float64(v), c.node, i.Name)
			}
		}
	}
}
