//! The server side of the Kubernetes streaming protocols that a CRI runtime's streaming server
//! speaks to the kubelet, crictl and critest: exec, attach and port-forward, over SPDY/3.1 and
//! over WebSocket. Independent of the engine: the CRI adapter supplies the backends.

pub mod spdy;
