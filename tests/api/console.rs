//! The console's files served by the binary, and `GET /v1/whoami`, which tells the console what a key may do.
//! The console itself is tested in a real browser by `console/e2e/` (`make test`).

use reqwest::{header, Method, StatusCode};
use serde_json::json;

use crate::helpers::{expect, expect_problem, spawn};

#[actix_web::test]
async fn the_console_is_served_from_the_binary_without_a_key() {
    let app = spawn().await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = plain.get(format!("{}/console", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()[header::LOCATION], "/console/");

    let res = app.anon(Method::GET, "/console/").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
    assert!(res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"<div id="app">"#), "{page}");

    // Every asset the page names is served, with its type, cached for good (names are content hashes).
    let assets: Vec<&str> = page.split('"').filter(|s| s.starts_with("./assets/")).collect();
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{page}");
    assert!(assets.iter().any(|a| a.ends_with(".css")), "{page}");
    for asset in assets {
        let res = app
            .anon(Method::GET, &format!("/console/{}", &asset[2..]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
        let kind = res.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(
            kind.starts_with(if asset.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            }),
            "{kind}"
        );
        assert!(res.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        assert!(!res.bytes().await.unwrap().is_empty());
    }

    let res = app
        .anon(Method::GET, "/console/assets/missing.js")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "route_not_found").await;
    let res = app.anon(Method::GET, "/console/../Cargo.toml").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn whoami_names_the_key_its_workspace_and_scopes() {
    let app = spawn().await;
    let res = app.req(Method::GET, "/v1/whoami").send().await.unwrap();
    let me = expect(res, StatusCode::OK).await;
    assert_eq!(me["workspace"], "default");
    assert_eq!(me["scopes"], json!(["admin"]));

    let reader = app.key_with(&["read"]).await;
    let res = app.req_as(&reader, Method::GET, "/v1/whoami").send().await.unwrap();
    let me = expect(res, StatusCode::OK).await;
    assert_eq!(me["scopes"], json!(["read"]));
    assert!(me["key_id"].as_str().unwrap().starts_with("key_"), "{me}");

    let res = app.anon(Method::GET, "/v1/whoami").send().await.unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    let res = app.req_as("not-a-key", Method::GET, "/v1/whoami").send().await.unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
}
