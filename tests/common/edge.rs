//! The edges of `deploy/` as child processes: Debian's nginx or HAProxy, started from the very
//! config files the README tells operators to copy, with only the placeholders filled in — and,
//! for a pitfall test, one setting changed by the test, in plain sight.

use super::cluster::{free_port, Instance, Pki, RedisServer};
use super::events::{open_url_cuttable, Events};
use reqwest::{Certificate, Client};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The topic the edge tests follow: ten members, several events per tick.
pub const CLUSTER_TOPIC: &str = "watchlist";

/// Redis, instances `a` and `b`, and the edge in front of them.
pub struct Cluster {
    _redis: RedisServer,
    pub pki: Pki,
    pub instances: Vec<Instance>,
    pub edge: Edge,
}

impl Cluster {
    pub async fn start(
        kind: Kind,
        env: &[(&str, &str)],
        change: impl Fn(String) -> String,
    ) -> Cluster {
        let redis = RedisServer::start();
        let pki = Pki::new();
        let instances: Vec<Instance> = ["a", "b"]
            .into_iter()
            .map(|name| {
                Instance::start_with(name, &redis.url(), &pki, env).expect("the instance starts")
            })
            .collect();
        let edge = Edge::start(kind, &instances.iter().collect::<Vec<_>>(), &pki, change).await;
        Cluster {
            _redis: redis,
            pki,
            instances,
            edge,
        }
    }

    pub async fn open(&self, last_event_id: Option<&str>) -> Events {
        let url = self
            .edge
            .url(&format!("/api/topics/{CLUSTER_TOPIC}/events"));
        open_url_cuttable(&self.edge.client(&self.pki), &url, last_event_id).await
    }

    pub fn instance(&mut self, name: &str) -> &mut Instance {
        self.instances.iter_mut().find(|i| i.name == name).unwrap()
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Nginx,
    Haproxy,
}

/// A running edge in front of some instances.
pub struct Edge {
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Edge {
    /// Starts `kind` in front of `instances` with the checked-in config, after `change` (the
    /// identity for the config as shipped).
    pub async fn start(
        kind: Kind,
        instances: &[&Instance],
        pki: &Pki,
        change: impl Fn(String) -> String,
    ) -> Edge {
        let upstreams: Vec<(String, SocketAddr)> =
            instances.iter().map(|i| (i.name.clone(), i.addr)).collect();
        Edge::in_front_of(kind, &upstreams, pki, change).await
    }

    /// As [`Edge::start`], in front of any upstreams (`name`, address) that serve the test's
    /// certificate: instances, or a test's own stand-in for one.
    pub async fn in_front_of(
        kind: Kind,
        instances: &[(String, SocketAddr)],
        pki: &Pki,
        change: impl Fn(String) -> String,
    ) -> Edge {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = |p: &Path| p.display().to_string();
        let child = match kind {
            Kind::Nginx => {
                for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                    std::fs::create_dir_all(dir.path().join(sub)).unwrap();
                }
                let upstreams: String = instances
                    .iter()
                    .map(|(_, addr)| format!("server {addr} max_fails=3 fail_timeout=5s; "))
                    .collect();
                let config = fill(&root.join("deploy/nginx/tickerplex.conf"), |line| {
                    line.replace("@PREFIX@", &path(dir.path()))
                        .replace("@LISTEN@", &listen)
                        .replace("@CERT@", &path(&pki.files.cert))
                        .replace("@KEY@", &path(&pki.files.key))
                        .replace("@CA@", &path(&pki.ca_file))
                        .replace("@UPSTREAMS@", &upstreams)
                });
                let file = dir.path().join("nginx.conf");
                std::fs::write(&file, change(config)).unwrap();
                Command::new(binary("nginx"))
                    .arg("-p")
                    .arg(dir.path())
                    .arg("-c")
                    .arg(&file)
                    .arg("-e")
                    .arg(dir.path().join("error.log"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("nginx runs")
            }
            Kind::Haproxy => {
                let pem = dir.path().join("edge.pem");
                let cert = std::fs::read_to_string(&pki.files.cert).unwrap();
                let key = std::fs::read_to_string(&pki.files.key).unwrap();
                std::fs::write(&pem, format!("{}\n{}", cert.trim_end(), key)).unwrap();
                let servers: String = instances
                    .iter()
                    .map(|(name, addr)| format!("server {name} {addr}\n    "))
                    .collect();
                let config = fill(&root.join("deploy/haproxy/tickerplex.cfg"), |line| {
                    line.replace("@LISTEN@", &listen)
                        .replace("@PEM@", &path(&pem))
                        .replace("@CA@", &path(&pki.ca_file))
                        .replace("@SERVERS@", &servers)
                });
                let file = dir.path().join("haproxy.cfg");
                std::fs::write(&file, change(config)).unwrap();
                let log = std::fs::File::create(dir.path().join("error.log")).unwrap();
                Command::new(binary("haproxy"))
                    .args(["-W", "-db", "-f"])
                    .arg(&file)
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .expect("haproxy runs")
            }
        };
        let mut edge = Edge {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            dir,
        };
        edge.wait_until_listening().await;
        edge
    }

    /// Polls the port: an edge prints nothing when ready, so a connect is the only signal.
    /// The pause between tries is the test runtime's timer, not a blocking sleep.
    async fn wait_until_listening(&mut self) {
        let start = Instant::now();
        while std::net::TcpStream::connect(self.addr).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
                panic!("the edge exited ({status}) before listening:\n{log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the edge did not listen"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A browser-like client of the edge: trusts the dev CA, reaches it as `localhost`, and
    /// speaks HTTP/2 (ALPN).
    pub fn client(&self, pki: &Pki) -> Client {
        self.builder(pki).build().unwrap()
    }

    /// The same, speaking HTTP/1.1 only (a browser on a connection without h2).
    pub fn http1_client(&self, pki: &Pki) -> Client {
        self.builder(pki).http1_only().build().unwrap()
    }

    fn builder(&self, pki: &Pki) -> reqwest::ClientBuilder {
        Client::builder()
            .add_root_certificate(Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
            .resolve("localhost", self.addr)
            .https_only(true)
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }
}

impl Drop for Edge {
    /// nginx and HAProxy run as a master and its workers: SIGKILL on the master would leave the
    /// workers running, orphaned, after every test. SIGTERM lets the master stop them; it is
    /// killed only if that takes more than five seconds.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        // The five seconds are a watchdog thread's, so the test's own thread only waits for
        // the master to exit: no sleeping poll inside an async test.
        let (exited, told) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if told.recv_timeout(Duration::from_secs(5)).is_err() {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        let _ = self.child.wait();
        let _ = exited.send(());
    }
}

/// The template at `path` with `placeholders` applied to every line but comments (which name
/// the placeholders to explain them).
fn fill(path: &Path, placeholders: impl Fn(&str) -> String) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            if line.trim_start().starts_with('#') {
                line.to_owned()
            } else {
                placeholders(line)
            }
        })
        .map(|line| line + "\n")
        .collect()
}

/// The edge's binary, from PATH or Debian's /usr/sbin; a missing one names its package.
fn binary(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| {
        let package = if name == "nginx" { "nginx-light" } else { name };
        panic!("{name} is not installed: scripts/setup installs it (Debian: apt-get install {package})")
    })
}
