// Package metrics exports the agent's OpenMetrics: per-pod flow counters with
// the names of the Amazon EKS agent (so existing dashboards work), per-pod TCP
// health, ENA allowance counters where the NIC has them, and self-metrics.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"flowlens.dev/agent/internal/flow"
)

type podKey struct{ namespace, pod string }

type podTotals struct {
	ingressFlows, egressFlows, ingressPkts, egressPkts, ingressBytes, egressBytes uint64
	retransmits, rto                                                              uint64
}

// Metrics accumulates per-pod totals from published windows and holds the
// agent's self-metrics.
type Metrics struct {
	node string
	reg  *prometheus.Registry

	mu   sync.Mutex
	pods map[podKey]*podTotals

	windowSeconds prometheus.Histogram
	tracked       *prometheus.GaugeVec
	fill          *prometheus.GaugeVec
	dropped       *prometheus.GaugeVec
}

var podLabels = []string{"namespace", "pod", "node"}

// The EKS names are exported as OpenMetrics "unknown" rather than counters:
// a counter's samples must end in _total, which would rename them.
var (
	descIngressFlows = prometheus.NewDesc("ingress_flow_count", "Connections (UDP: new peers) accepted by the pod.", podLabels, nil)
	descEgressFlows  = prometheus.NewDesc("egress_flow_count", "Connections (UDP: new peers) opened by the pod.", podLabels, nil)
	descIngressPkts  = prometheus.NewDesc("ingress_pkt_count", "IP packets received by the pod.", podLabels, nil)
	descEgressPkts   = prometheus.NewDesc("egress_pkt_count", "IP packets sent by the pod.", podLabels, nil)
	descIngressBytes = prometheus.NewDesc("ingress_bytes_count", "Transport payload bytes received by the pod.", podLabels, nil)
	descEgressBytes  = prometheus.NewDesc("egress_bytes_count", "Transport payload bytes sent by the pod.", podLabels, nil)
	descRetransmits  = prometheus.NewDesc("flowlens_pod_tcp_retransmits", "TCP segments the pod retransmitted.", podLabels, nil)
	descRTO          = prometheus.NewDesc("flowlens_pod_tcp_rto", "TCP retransmission timeouts on the pod's connections.", podLabels, nil)
)

// New builds the registry. dropped is read at scrape time.
func New(node string) *Metrics {
	m := &Metrics{node: node, reg: prometheus.NewRegistry(), pods: map[podKey]*podTotals{}}
	m.windowSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "flowlens_window_collect_seconds", Help: "Time to collect and publish one window.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.tracked = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flowlens_flows_tracked", Help: "Kernel map entries the agent follows.",
	}, []string{"map"})
	m.fill = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flowlens_map_fill_ratio", Help: "Kernel map entries divided by capacity.",
	}, []string{"map"})
	// A gauge holding the kernel's running count: the kernel owns the counter.
	m.dropped = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flowlens_dropped", Help: "Connections (conns) or datagrams (udp_flows) not tracked because the map was full, since the agent started.",
	}, []string{"map"})
	// No Go runtime collector: its go_memstats_alloc_bytes gauge and
	// go_memstats_alloc_bytes_total counter collide as OpenMetrics families.
	m.reg.MustRegister(m, m.windowSeconds, m.tracked, m.fill, m.dropped, enaCollector{node: node},
		prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry, as OpenMetrics when the scraper asks for it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Observe adds a window's records to the per-pod totals. Only the endpoint on
// this node's side is counted: the other side is another node's to report (or
// this node's, from its own socket).
func (m *Metrics) Observe(recs []flow.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		e := r.LocalEndpoint()
		if e.Pod == "" {
			continue
		}
		k := podKey{e.Namespace, e.Pod}
		t := m.pods[k]
		if t == nil {
			t = &podTotals{}
			m.pods[k] = t
		}
		if r.ObservedAt == flow.ObservedClient {
			t.egressFlows += r.Connections
			t.egressPkts += r.PacketsToServer
			t.ingressPkts += r.PacketsToClient
			t.egressBytes += r.BytesToServer
			t.ingressBytes += r.BytesToClient
		} else {
			t.ingressFlows += r.Connections
			t.ingressPkts += r.PacketsToServer
			t.egressPkts += r.PacketsToClient
			t.ingressBytes += r.BytesToServer
			t.egressBytes += r.BytesToClient
		}
		t.retransmits += r.Retransmits
		t.rto += r.RTO
	}
}

// Window records one window's collection time and the kernel map state.
func (m *Metrics) Window(took time.Duration, conns, udp, connCap, udpCap int, droppedConns, droppedUDP uint64) {
	m.windowSeconds.Observe(took.Seconds())
	m.tracked.WithLabelValues("conns").Set(float64(conns))
	m.tracked.WithLabelValues("udp_flows").Set(float64(udp))
	if connCap > 0 {
		m.fill.WithLabelValues("conns").Set(float64(conns) / float64(connCap))
	}
	if udpCap > 0 {
		m.fill.WithLabelValues("udp_flows").Set(float64(udp) / float64(udpCap))
	}
	m.dropped.WithLabelValues("conns").Set(float64(droppedConns))
	m.dropped.WithLabelValues("udp_flows").Set(float64(droppedUDP))
}

// Describe implements prometheus.Collector for the per-pod series.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIngressFlows, descEgressFlows, descIngressPkts, descEgressPkts,
		descIngressBytes, descEgressBytes, descRetransmits, descRTO} {
		ch <- d
	}
}

// Collect implements prometheus.Collector for the per-pod series.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, t := range m.pods {
		lv := []string{k.namespace, k.pod, m.node}
		for _, s := range []struct {
			d *prometheus.Desc
			v uint64
		}{
			{descIngressFlows, t.ingressFlows}, {descEgressFlows, t.egressFlows},
			{descIngressPkts, t.ingressPkts}, {descEgressPkts, t.egressPkts},
			{descIngressBytes, t.ingressBytes}, {descEgressBytes, t.egressBytes},
			{descRetransmits, t.retransmits}, {descRTO, t.rto},
		} {
			ch <- prometheus.MustNewConstMetric(s.d, prometheus.UntypedValue, float64(s.v), lv...)
		}
	}
}
