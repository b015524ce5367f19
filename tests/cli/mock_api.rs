//! A local HTTP server answering in the GitHub API's shapes, and the documented records of
//! tests/fixtures/github to build its answers from.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::fixture;

pub const TOKEN: &str = "ghp_PlannerTestToken0123456789abcdefXYZ";

/// A mock API: the server runs on its own thread; the runtime only starts and configures it.
pub struct Api {
    pub rt: tokio::runtime::Runtime,
    pub server: MockServer,
}

impl Api {
    pub fn start() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let server = rt.block_on(MockServer::start());
        Api { rt, server }
    }

    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    /// Answers every GET of `p` with `response`.
    pub fn serve(&self, p: impl AsRef<str>, response: ResponseTemplate) {
        self.mount(
            Mock::given(method("GET"))
                .and(path(p.as_ref()))
                .respond_with(response),
        );
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// How many requests reached `p`.
    pub fn hits(&self, p: &str) -> usize {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == p)
            .count()
    }
}

pub fn record(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("github/{name}"))).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

pub fn at(day: u32, secs: i64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2026, 11, day)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("a date")
        .and_utc();
    (base + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn jobs_page(jobs: &[Value]) -> Value {
    json!({ "total_count": jobs.len(), "jobs": jobs })
}

pub fn ok(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A port nothing listens on.
pub fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("an address");
    drop(listener);
    format!("http://{addr}")
}
