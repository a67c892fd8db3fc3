//! `yardstick ui`: the leaderboard served over HTTP, read-only, from the results
//! database; every page is computed from the database when it is asked for.

use crate::escape::{decode_query_value, escape_html};
use crate::html::{comparison_page, page, Links};
use crate::items::{items_page, ItemView};
use crate::ReportError;
use std::net::SocketAddr;
use yardstick_compare::{load_models, CompareOptions, Comparison, PublishedScores, StoredModel};
use yardstick_store::{ItemKey, Store, StoreLocation};

/// Items per drill-down page.
const ITEMS_PER_PAGE: usize = 100;

/// What the leaderboard shows.
#[derive(Debug, Clone)]
pub struct LeaderboardOptions {
    /// The results database (a SQLite file or a PostgreSQL database).
    pub db: StoreLocation,
    /// Published scores that may serve as reference or rows.
    pub published: PublishedScores,
    /// The comparison; an empty reference means the first model stored.
    pub compare: CompareOptions,
}

/// An HTTP response, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Page {
    fn html(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            body,
        }
    }

    fn error(status: u16, message: &str) -> Self {
        Self::html(
            status,
            page(
                "yardstick",
                &format!(
                    "<h1>{status}</h1><p>{}</p><p><a href=\"/\">leaderboard</a></p>",
                    escape_html(message)
                ),
            ),
        )
    }
}

/// The leaderboard server.
pub struct Leaderboard {
    server: tiny_http::Server,
    options: LeaderboardOptions,
}

impl Leaderboard {
    /// Binds to `address` (`127.0.0.1:8765`; port 0 picks a free one). The database
    /// must exist.
    pub fn bind(address: &str, options: LeaderboardOptions) -> Result<Self, ReportError> {
        // Fail now, not on the first request, when the database is missing.
        Store::open_read_only(&options.db)?;
        let server = tiny_http::Server::http(address).map_err(|e| ReportError::Bind {
            address: address.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self { server, options })
    }

    /// The address it listens on.
    pub fn address(&self) -> Option<SocketAddr> {
        self.server.server_addr().to_ip()
    }

    /// Answers requests until the process ends.
    pub fn serve(&self) {
        for request in self.server.incoming_requests() {
            let page = match request.method() {
                tiny_http::Method::Get | tiny_http::Method::Head => self.page(request.url()),
                _ => Page::error(405, "the leaderboard is read-only"),
            };
            let mut response =
                tiny_http::Response::from_string(page.body).with_status_code(page.status);
            if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", page.content_type) {
                response = response.with_header(header);
            }
            // A client that went away is no reason to stop serving others.
            let _ = request.respond(response);
        }
    }

    /// The page for `url` (path and query).
    pub fn page(&self, url: &str) -> Page {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let result = match path {
            "/" | "/index.html" => self.leaderboard(),
            "/items" => self.items(query),
            _ => return Page::error(404, &format!("no page {path}")),
        };
        result.unwrap_or_else(|e| Page::error(500, &e.to_string()))
    }

    fn comparison(&self, models: &[StoredModel]) -> Result<Comparison, ReportError> {
        let mut options = self.options.compare.clone();
        if options.reference.is_empty() {
            match models.first() {
                Some(first) => options.reference = first.name.clone(),
                None => {
                    return Err(ReportError::Empty {
                        location: self.options.db.clone(),
                    })
                }
            }
        }
        Ok(Comparison::build(
            models,
            &self.options.published,
            &options,
        )?)
    }

    fn leaderboard(&self) -> Result<Page, ReportError> {
        let store = Store::open_read_only(&self.options.db)?;
        let comparison = self.comparison(&load_models(&store)?)?;
        Ok(Page::html(
            200,
            comparison_page(&comparison, Links::ItemPages),
        ))
    }

    fn items(&self, query: &str) -> Result<Page, ReportError> {
        let parameter = |name: &str| {
            query.split('&').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                (key == name).then(|| decode_query_value(value)).flatten()
            })
        };
        let (Some(model), Some(benchmark)) = (parameter("model"), parameter("benchmark")) else {
            return Ok(Page::error(400, "give model and benchmark"));
        };
        let page_number: usize = parameter("page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let store = Store::open_read_only(&self.options.db)?;
        let models = load_models(&store)?;
        let comparison = self.comparison(&models)?;
        let column = comparison.columns.iter().find(|c| c.label == benchmark);
        let stored = models.iter().find(|m| m.name == model);
        let (Some(column), Some(stored)) = (column, stored) else {
            return Ok(Page::error(
                404,
                &format!("no stored results of {model} on {benchmark}"),
            ));
        };
        let Some(scores) = stored.benchmark(&column.benchmark, column.num_fewshot) else {
            return Ok(Page::error(
                404,
                &format!("{model} did not run {benchmark}"),
            ));
        };
        let mut views = Vec::new();
        for source in &scores.sources {
            let key = ItemKey::new(stored.fingerprint.clone(), source.config_hash.clone());
            for item in store.load_items(&key, None)? {
                views.push(ItemView::from_record(&source.task, &item));
            }
        }
        let total = views.len();
        let start = (page_number * ITEMS_PER_PAGE).min(total);
        let end = (start + ITEMS_PER_PAGE).min(total);
        let note = format!("items {}–{} of {total}", start + 1, end);
        let mut html = items_page(&model, &benchmark, &views[start..end], &note);
        if end < total {
            let next = format!(
                "<p><a id=\"next\" href=\"/items?model={}&amp;benchmark={}&amp;page={}\">next page</a></p></body>",
                crate::escape::encode_query_value(&model),
                crate::escape::encode_query_value(&benchmark),
                page_number + 1
            );
            html = html.replacen("</body>", &next, 1);
        }
        Ok(Page::html(200, html))
    }
}
