//! The ServiceNow Table API (`<url>/api/now[/<version>]/table/<table>`): read, query with
//! paging, insert and patch records, and ServiceNow's error body
//! (`{"error": {"message", "detail"}, "status": "failure"}`).

use ilm_plugin_sdk::rest::{self, Reply, JSON};
use ilm_plugin_sdk::{app_error, param_str, percent_encode as encode, AppError};
use serde_json::{Map, Value};

/// The most records ServiceNow returns per request.
pub const MAX_PAGE: u64 = 10_000;

/// The Table API of one instance.
pub struct Table {
    base: String,
}

/// One page of a query.
pub struct Page {
    pub records: Vec<Value>,
    /// All records matching the query (ServiceNow's `X-Total-Count`), when it said.
    pub total: Option<u64>,
}

impl Table {
    /// From the instance parameters `url` and `api_version`.
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, AppError> {
        let url = param_str(params, "url")
            .ok_or_else(|| app_error("config", "the parameter url is not set: set it to the instance URL, e.g. https://acme.service-now.com"))?;
        let version = param_str(params, "api_version")
            .map(|v| format!("/{}", encode(v.trim_matches('/'))))
            .unwrap_or_default();
        Ok(Self {
            base: format!("{}/api/now{version}/table", url.trim_end_matches('/')),
        })
    }

    fn url(&self, table: &str, sys_id: Option<&str>) -> String {
        match sys_id {
            Some(id) => format!("{}/{table}/{}", self.base, encode(id)),
            None => format!("{}/{table}", self.base),
        }
    }

    /// The record with this sys_id; `None` when ServiceNow has none (or an ACL hides it,
    /// which ServiceNow answers the same way).
    pub fn get(&self, table: &str, sys_id: &str) -> Result<Option<Value>, AppError> {
        let reply = rest::send("GET", &self.url(table, Some(sys_id)), None, JSON)?;
        if reply.status == 404 {
            return Ok(None);
        }
        result(&reply).map(Some)
    }

    /// Records matching the encoded `query`, `limit` of them from `offset` on, only
    /// `fields` when given (comma-separated), reference fields as plain values.
    pub fn query(
        &self,
        table: &str,
        query: &str,
        fields: Option<&str>,
        limit: u64,
        offset: u64,
    ) -> Result<Page, AppError> {
        let mut url = format!(
            "{}?sysparm_query={}&sysparm_limit={limit}&sysparm_offset={offset}&sysparm_exclude_reference_link=true",
            self.url(table, None),
            encode(query)
        );
        if let Some(fields) = fields {
            url.push_str(&format!("&sysparm_fields={}", encode(fields)));
        }
        let reply = rest::send("GET", &url, None, JSON)?;
        let total = reply
            .header("X-Total-Count")
            .and_then(|t| t.trim().parse().ok());
        match result(&reply)? {
            Value::Array(records) => Ok(Page { records, total }),
            other => Err(app_error(
                "502",
                format!(
                    "ServiceNow answered {} with a result that is not a list: {other}",
                    reply.request()
                ),
            )),
        }
    }

    /// Every record matching `query`, read `page_size` at a time.
    pub fn query_all(
        &self,
        table: &str,
        query: &str,
        fields: Option<&str>,
        page_size: u64,
    ) -> Result<Vec<Value>, AppError> {
        let mut records = Vec::new();
        loop {
            let page = self.query(table, query, fields, page_size, records.len() as u64)?;
            let short = (page.records.len() as u64) < page_size;
            records.extend(page.records);
            let done = page.total.is_some_and(|t| records.len() as u64 >= t);
            if short || done {
                return Ok(records);
            }
        }
    }

    /// Inserts a record; returns it as ServiceNow stored it.
    pub fn insert(&self, table: &str, body: &Map<String, Value>) -> Result<Value, AppError> {
        let body = Value::Object(body.clone());
        result(&rest::send(
            "POST",
            &self.url(table, None),
            Some(&body),
            JSON,
        )?)
    }

    /// Changes the given fields of record `sys_id`; returns the record after the change.
    pub fn patch(
        &self,
        table: &str,
        sys_id: &str,
        body: &Map<String, Value>,
    ) -> Result<Value, AppError> {
        let body = Value::Object(body.clone());
        result(&rest::send(
            "PATCH",
            &self.url(table, Some(sys_id)),
            Some(&body),
            JSON,
        )?)
    }
}

/// The `result` of a successful reply; any other status is [`error`].
fn result(reply: &Reply) -> Result<Value, AppError> {
    match reply.json_or_else(error)? {
        Value::Object(mut body) if body.contains_key("result") => {
            Ok(body.remove("result").unwrap_or_default())
        }
        other => Err(app_error(
            "502",
            format!(
                "ServiceNow answered {} without a result: {other}",
                reply.request()
            ),
        )),
    }
}

/// An error with the HTTP status as its code and ServiceNow's `message: detail`, a hint
/// for the statuses a person fixes in the configuration, and the request.
pub fn error(reply: &Reply) -> AppError {
    let body: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    let error = body.get("error");
    let text = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    let said = match (text("message"), text("detail")) {
        (Some(message), Some(detail)) => format!("{message}: {detail}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) if reply.body.iter().all(u8::is_ascii_whitespace) => {
            format!("HTTP status {}", reply.status)
        }
        (None, None) => rest::snippet(&reply.body),
    };
    let hint = match reply.status {
        401 => " — ServiceNow refused the credentials: set the instance's username and password to an active ServiceNow user with web service access",
        403 => " — ServiceNow refused the operation: the integration user may lack a role (user_admin; read access to sys_dictionary), or a business rule or data policy refused the values",
        _ => "",
    };
    app_error(
        reply.status.to_string(),
        format!("{said}{hint} (the app answered {})", reply.request()),
    )
}
