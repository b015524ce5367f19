//! A local, stateful server for a repository's git references, in the REST API's documented
//! shapes: `POST /repos/{owner}/{repo}/git/refs` creates (201, the reference) or answers 422
//! "Reference already exists"; `GET …/git/matching-refs/{ref}` lists by prefix, a page at a time
//! with a `Link` header; `DELETE …/git/refs/{ref}` answers 204, or 422 "Reference does not
//! exist". Faults on order: a 502 before the server acts, and a 403 secondary rate limit with
//! `retry-after`. A write without a token is answered 401, as the API answers it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::matchers::path_regex;
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use super::mock_api::Api;

pub const REPO: &str = "octo-org/hello";
pub const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

#[derive(Default)]
pub struct State {
    pub refs: BTreeSet<String>,
    /// Requests answered, by method.
    pub posts: usize,
    pub gets: usize,
    pub deletes: usize,
    /// The next this many POSTs answer 502 without creating anything.
    pub fail_posts: usize,
    /// The next this many POSTs answer 403, a secondary rate limit with `retry-after: 1`.
    pub limit_posts: usize,
    /// References a page of matching-refs holds at most.
    pub page_size: usize,
}

#[derive(Clone)]
pub struct Refs(pub Arc<Mutex<State>>);

fn reference(base: &str, name: &str) -> serde_json::Value {
    json!({
        "ref": name,
        "node_id": "MDM6UmVmcmVmcy9oZWFkcy9mZWF0dXJlQQ==",
        "url": format!("{base}/repos/{REPO}/git/{name}"),
        "object": {
            "type": "commit",
            "sha": SHA,
            "url": format!("{base}/repos/{REPO}/git/commits/{SHA}"),
        },
    })
}

fn message(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "message": text,
        "documentation_url": "https://docs.github.com/rest/git/refs",
        "status": status.to_string(),
    }))
}

impl Respond for Refs {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().expect("the state");
        let base = format!(
            "{}://{}",
            request.url.scheme(),
            request
                .url
                .host_str()
                .map_or_else(String::new, |h| match request.url.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
        );
        let git = format!("/repos/{REPO}/git/");
        let Some(rest) = request.url.path().strip_prefix(&git) else {
            return message(404, "Not Found");
        };
        // Writing references takes a token; without one the API answers 401.
        if request.method.as_str() != "GET" && !request.headers.contains_key("authorization") {
            return message(401, "Requires authentication");
        }
        match (request.method.as_str(), rest) {
            ("POST", "refs") => {
                s.posts += 1;
                if s.limit_posts > 0 {
                    s.limit_posts -= 1;
                    return message(
                        403,
                        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    )
                    .insert_header("retry-after", "1");
                }
                if s.fail_posts > 0 {
                    s.fail_posts -= 1;
                    return message(502, "Server Error");
                }
                let Ok(body) = request.body_json::<serde_json::Value>() else {
                    return message(400, "Problems parsing JSON");
                };
                let (Some(name), Some(sha)) = (body["ref"].as_str(), body["sha"].as_str()) else {
                    return message(422, "Invalid request.");
                };
                if !name.starts_with("refs/") || name.matches('/').count() < 2 {
                    return message(
                        422,
                        "Reference name must start with 'refs/' and have at least two slashes.",
                    );
                }
                if sha != SHA {
                    return message(422, "Object does not exist");
                }
                if !s.refs.insert(name.to_owned()) {
                    return message(422, "Reference already exists");
                }
                ResponseTemplate::new(201).set_body_json(reference(&base, name))
            }
            ("GET", r) if r.starts_with("matching-refs/") => {
                s.gets += 1;
                let prefix = format!("refs/{}", &r["matching-refs/".len()..]);
                let page: usize = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "page")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(1);
                let size = s.page_size.max(1);
                let all: Vec<&String> = s.refs.iter().filter(|n| n.starts_with(&prefix)).collect();
                let body: Vec<serde_json::Value> = all
                    .iter()
                    .skip((page - 1) * size)
                    .take(size)
                    .map(|n| reference(&base, n))
                    .collect();
                let mut answer = ResponseTemplate::new(200).set_body_json(body);
                if page * size < all.len() {
                    answer = answer.insert_header(
                        "link",
                        format!(
                            "<{base}{}?per_page={size}&page={}>; rel=\"next\"",
                            request.url.path(),
                            page + 1
                        )
                        .as_str(),
                    );
                }
                answer
            }
            ("DELETE", r) if r.starts_with("refs/") => {
                s.deletes += 1;
                if s.refs.remove(&format!("refs/{}", &r["refs/".len()..])) {
                    ResponseTemplate::new(204)
                } else {
                    message(422, "Reference does not exist")
                }
            }
            _ => message(404, "Not Found"),
        }
    }
}

impl Refs {
    /// A fresh server's references, mounted on `api`.
    pub fn mount(api: &Api, page_size: usize) -> Refs {
        let refs = Refs(Arc::new(Mutex::new(State {
            page_size,
            ..State::default()
        })));
        api.mount(Mock::given(path_regex("^/repos/.*")).respond_with(refs.clone()));
        refs
    }

    pub fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("the state")
            .refs
            .iter()
            .cloned()
            .collect()
    }
}
