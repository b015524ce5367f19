//! Git references through the REST API, in their documented shapes: create
//! (`POST /repos/{owner}/{repo}/git/refs`, 201, or 422 "Reference already exists"), list by
//! prefix (`GET /repos/{owner}/{repo}/git/matching-refs/{ref}`, an array, paged by `Link`
//! when the server pages it) and delete (`DELETE /repos/{owner}/{repo}/git/refs/{ref}`, 204, or
//! 422 "Reference does not exist").

use serde::Deserialize;

use super::client::{ApiError, Client, Request, message_of};

/// What a create did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefCreated {
    New,
    Exists,
    /// It exists, and a try before whose answer was lost may have been what created it.
    ExistsAfterRetry,
}

#[derive(Deserialize)]
struct RefRecord {
    #[serde(rename = "ref")]
    name: String,
}

/// The part of a full name (`refs/…`) that the API's paths take.
fn short(name: &str) -> &str {
    name.strip_prefix("refs/").unwrap_or(name)
}

/// Creates `name` pointing at `sha` in the repository at `repo_path` (`/repos/{owner}/{repo}`).
pub async fn create_ref(
    client: &mut Client,
    repo_path: &str,
    name: &str,
    sha: &str,
) -> Result<RefCreated, ApiError> {
    let body = serde_json::json!({ "ref": name, "sha": sha });
    let answer = client
        .send(
            Request::Post(&body),
            &format!("{repo_path}/git/refs"),
            &[422],
        )
        .await?;
    if answer.status != 422 {
        return Ok(RefCreated::New);
    }
    let message = message_of(&answer.body);
    if !message.to_lowercase().contains("already exists") {
        // A bad name or a commit the repository does not have: not a lost race.
        return Err(ApiError::Refused {
            url: answer.label,
            status: 422,
            message,
            hint: " (the reference's name or the commit (GITHUB_SHA, --sha) is not one the repository takes)",
        });
    }
    Ok(if answer.retried {
        RefCreated::ExistsAfterRetry
    } else {
        RefCreated::Exists
    })
}

/// The full names of every reference that starts with `prefix` (a full name, `refs/…`).
pub async fn matching_refs(
    client: &mut Client,
    repo_path: &str,
    prefix: &str,
) -> Result<Vec<String>, ApiError> {
    // The API matches the start of the name as a string; asked without the trailing slash, so
    // that a server that trims it answers the same, and filtered here.
    let asked = short(prefix).trim_end_matches('/');
    let mut next = Some(format!(
        "{repo_path}/git/matching-refs/{asked}?per_page=100"
    ));
    let mut names = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while let Some(path) = next.take() {
        if !seen.insert(path.clone()) || seen.len() > 1000 {
            return Err(ApiError::EndlessPages {
                url: path,
                what: "the references",
                pages: seen.len(),
            });
        }
        let (page, more): (Vec<RefRecord>, _) =
            client.get_json(&path, "a list of references").await?;
        names.extend(
            page.into_iter()
                .map(|r| r.name)
                .filter(|n| n.starts_with(prefix)),
        );
        next = more;
    }
    Ok(names)
}

/// Deletes `name`; false if it was not there.
pub async fn delete_ref(
    client: &mut Client,
    repo_path: &str,
    name: &str,
) -> Result<bool, ApiError> {
    let answer = client
        .send(
            Request::Delete,
            &format!("{repo_path}/git/refs/{}", short(name)),
            &[404, 422],
        )
        .await?;
    Ok((200..300).contains(&answer.status))
}
