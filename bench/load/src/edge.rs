//! The edges as benchmark peers: nginx or HAProxy, filled in from `deploy/` exactly as
//! `scripts/cluster` and the tests fill them, in front of two tickerplex instances on one Redis.
//! The streams go through the edge; what is measured is the edge's own process (its CPU, its
//! RSS per stream), with the instances and Redis on the same core as it.

use crate::servers::{self, BenchMode, Ports, Server};
use std::path::Path;
use std::process::Stdio;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Haproxy,
}

/// The two instances' ports (HTTPS only; no HTTP/1.1-only listener).
pub const INSTANCE_PORTS: [u16; 2] = [4436, 4437];

/// Starts the two instances (bench mode, on `redis_url`) and `kind` in front of them on
/// `edge_port`. Returns the edge first: it is the process measured.
#[allow(clippy::too_many_arguments)]
pub fn start(
    kind: Kind,
    bin: &Path,
    root: &Path,
    scratch: &Path,
    cpu: Option<usize>,
    edge_port: u16,
    bench: BenchMode,
    redis_url: &str,
) -> Result<(Server, Vec<Server>), String> {
    let mut instances = Vec::new();
    for port in INSTANCE_PORTS {
        let ports = Ports {
            h2: port,
            h1: 0,
            publish: 0,
        };
        let name = format!("tickerplex-{port}");
        instances.push(servers::tickerplex(
            bin,
            root,
            scratch,
            cpu,
            ports,
            Some(bench),
            Some(redis_url),
            &name,
        )?);
    }
    let certs = root.join("certs");
    let dir = scratch.join(match kind {
        Kind::Nginx => "edge-nginx",
        Kind::Haproxy => "edge-haproxy",
    });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let show = |p: &Path| p.display().to_string();
    let listen = Ports::addr(edge_port).to_string();
    let log = std::fs::File::create(dir.join("edge.log")).map_err(|e| e.to_string())?;
    let mut command = match kind {
        Kind::Nginx => {
            for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
            }
            let upstreams: String = INSTANCE_PORTS
                .iter()
                .map(|p| format!("server 127.0.0.1:{p} max_fails=3 fail_timeout=5s; "))
                .collect();
            let config = fill(
                &root.join("deploy/nginx/tickerplex.conf"),
                &[
                    ("@PREFIX@", show(&dir)),
                    ("@LISTEN@", listen),
                    ("@CERT@", show(&certs.join("localhost.pem"))),
                    ("@KEY@", show(&certs.join("localhost-key.pem"))),
                    ("@CA@", show(&certs.join("dev-ca.pem"))),
                    ("@UPSTREAMS@", upstreams),
                ],
            )?;
            std::fs::write(dir.join("nginx.conf"), config).map_err(|e| e.to_string())?;
            let mut command = servers::pinned(
                &servers::which("nginx")
                    .ok_or("nginx is not installed (scripts/bench installs it)")?,
                cpu,
            );
            command
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"));
            command
        }
        Kind::Haproxy => {
            let pem = dir.join("edge.pem");
            let read =
                |p: &str| std::fs::read_to_string(certs.join(p)).map_err(|e| format!("{p}: {e}"));
            std::fs::write(
                &pem,
                format!(
                    "{}\n{}",
                    read("localhost.pem")?.trim_end(),
                    read("localhost-key.pem")?
                ),
            )
            .map_err(|e| e.to_string())?;
            let servers: String = INSTANCE_PORTS
                .iter()
                .map(|p| format!("server i{p} 127.0.0.1:{p}\n    "))
                .collect();
            let config = fill(
                &root.join("deploy/haproxy/tickerplex.cfg"),
                &[
                    ("@LISTEN@", listen),
                    ("@PEM@", show(&pem)),
                    ("@CA@", show(&certs.join("dev-ca.pem"))),
                    ("@SERVERS@", servers),
                ],
            )?;
            std::fs::write(dir.join("haproxy.cfg"), config).map_err(|e| e.to_string())?;
            let mut command = servers::pinned(
                &servers::which("haproxy")
                    .ok_or("haproxy is not installed (scripts/bench installs it)")?,
                cpu,
            );
            command
                .args(["-W", "-db", "-f"])
                .arg(dir.join("haproxy.cfg"));
            command
        }
    };
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the {kind:?} edge: {e}"))?;
    Ok((Server::from_child(child, dir.join("edge.log")), instances))
}

/// The template with `values` put in, except in comments (which name the placeholders).
fn fill(template: &Path, values: &[(&str, String)]) -> Result<String, String> {
    let text =
        std::fs::read_to_string(template).map_err(|e| format!("{}: {e}", template.display()))?;
    Ok(text
        .lines()
        .map(|line| {
            let mut line = line.to_owned();
            if !line.trim_start().starts_with('#') {
                for (key, value) in values {
                    line = line.replace(key, value);
                }
            }
            line + "\n"
        })
        .collect())
}
