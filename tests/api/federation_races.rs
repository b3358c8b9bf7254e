//! Federation's rules raced: a round trip is finished once however many requests race
//! for it; the first logins of one new identity make one account; of the last two ways
//! into an account, racing removals take at most one; a login through an identity
//! racing its removal never errs.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::upstream::{callback, finish, log_in, started, through_provider, Upstream};

const ROUNDS: usize = 5;

fn person(sub: &str, username: &str) -> Value {
    json!({"sub": sub, "preferred_username": username, "email": format!("{username}@example.com"), "email_verified": true})
}

/// Two providers, and budgets that many racing logins from one address do not exhaust.
async fn with_two(accounts: Value) -> (TestApp, Upstream, Upstream) {
    crate::federation::with_two_and(accounts, |c| {
        c.throttle.login_per_ip = 10_000;
        c.throttle.signup_per_ip = 10_000;
    })
    .await
}

#[tokio::test]
async fn ten_racing_continues_of_one_round_trip_log_in_once() {
    let accounts: Vec<Value> = (0..ROUNDS).map(|i| person(&format!("p{i}"), &format!("person{i}"))).collect();
    let (app, _first, _second) = with_two(json!(accounts)).await;
    for round in 0..ROUNDS {
        let browser = new_client();
        let authorize = started(&app, &browser, "first").await;
        let trip = through_provider(&browser, &authorize, format!("p{round}").as_str()).await;
        callback(&browser, &trip.callback).await;
        let answers =
            join_all((0..10).map(|i| finish(&app, &browser, if i % 2 == 0 { "session" } else { "token" }))).await;
        let mut ok = 0;
        for r in answers {
            match r.status() {
                StatusCode::OK => ok += 1,
                _ => {
                    assert_error(r, 401, "federation_expired").await;
                }
            }
        }
        assert_eq!(ok, 1, "round {round}: one round trip, one login");
    }
}

#[tokio::test]
async fn racing_callbacks_of_one_round_trip_redeem_its_code_once() {
    // The forge counts its token requests and answers them slowly, so the racing
    // callbacks all arrive while the first one is still redeeming.
    let forge = Upstream::forge(json!({})).await;
    let provider = forge.provider("forge");
    let app = TestApp::spawn_with(|c| c.federation.providers.push(provider)).await;
    forge.allow(&[&app], "forge").await;
    forge.control(json!({"mode": "slow", "delay_ms": 300})).await;
    for round in 0..ROUNDS {
        let browser = new_client();
        let authorize = started(&app, &browser, "forge").await;
        let trip = through_provider(&browser, &authorize, "any").await;
        let before = forge.requests("token").await.len();
        let visits = join_all((0..8).map(|_| browser.get(&trip.callback).send())).await;
        for v in visits {
            assert_eq!(v.unwrap().status(), 303, "round {round}: every visit is sent on to the web app");
        }
        assert_eq!(forge.requests("token").await.len() - before, 1, "round {round}: the code was redeemed once");
        assert_eq!(finish(&app, &browser, "session").await.status(), 200, "round {round}");
        assert_error(finish(&app, &browser, "session").await, 401, "federation_expired").await;
    }
}

#[tokio::test]
async fn the_racing_first_logins_of_one_new_identity_make_one_account() {
    let accounts: Vec<Value> = (0..ROUNDS).map(|i| person(&format!("p{i}"), &format!("racer{i}"))).collect();
    let (app, _first, _second) = with_two(json!(accounts)).await;
    for round in 0..ROUNDS {
        let login = format!("p{round}");
        // Every browser goes through the provider first; then all come back at once.
        let mut browsers = Vec::new();
        for _ in 0..6 {
            let browser = new_client();
            let authorize = started(&app, &browser, "first").await;
            let trip = through_provider(&browser, &authorize, login.as_str()).await;
            browsers.push((browser, trip));
        }
        let app = &app;
        let answers = join_all(browsers.iter().map(|(browser, trip)| async move {
            callback(browser, &trip.callback).await;
            let r = finish(app, browser, "session").await;
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }))
        .await;
        let ids: Vec<&Value> = answers
            .iter()
            .map(|(status, body)| {
                assert_eq!(*status, StatusCode::OK, "round {round}: {body}");
                &body["id"]
            })
            .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "round {round}: one account for one identity: {ids:?}");
    }
}

#[tokio::test]
async fn racing_removals_of_the_last_two_ways_in_leave_one() {
    let accounts: Vec<Value> = (0..ROUNDS).map(|i| person(&format!("p{i}"), &format!("two{i}"))).collect();
    let (app, _first, _second) = with_two(json!(accounts)).await;
    for round in 0..ROUNDS {
        let login = format!("p{round}");
        let browser = new_client();
        assert_eq!(log_in(&app, &browser, "first", login.as_str()).await.status(), 200);
        let r = browser.post(app.url("/api/federation/second/link")).json(&json!({})).send().await.unwrap();
        let redirect = r.json::<Value>().await.unwrap()["redirect"].as_str().unwrap().to_string();
        let trip = through_provider(&browser, &redirect, login.as_str()).await;
        callback(&browser, &trip.callback).await;
        assert_eq!(finish(&app, &browser, "session").await.status(), 200, "round {round}: linked");
        let listed: Value = browser.get(app.url("/api/me/identities")).send().await.unwrap().json().await.unwrap();
        let ids: Vec<i64> =
            listed["identities"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), 2);
        let removals =
            join_all(ids.iter().map(|id| browser.delete(app.url(&format!("/api/me/identities/{id}"))).send())).await;
        let statuses: Vec<u16> = removals.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 1, "round {round}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 1, "round {round}: {statuses:?}");
        let listed: Value = browser.get(app.url("/api/me/identities")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["identities"].as_array().unwrap().len(), 1, "round {round}: one way in is left");
    }
}

#[tokio::test]
async fn logins_through_an_identity_racing_its_removal_answer_200_or_401_and_never_outlive_it() {
    let accounts: Vec<Value> = (0..ROUNDS).map(|i| person(&format!("p{i}"), &format!("gone{i}"))).collect();
    let (app, _first, _second) = with_two(json!(accounts)).await;
    for round in 0..ROUNDS {
        let login = format!("p{round}");
        let owner = new_client();
        let user: Value = log_in(&app, &owner, "first", login.as_str()).await.json().await.unwrap();
        // A second way in, so the first identity may go.
        let r = owner.post(app.url("/api/federation/second/link")).json(&json!({})).send().await.unwrap();
        let redirect = r.json::<Value>().await.unwrap()["redirect"].as_str().unwrap().to_string();
        let trip = through_provider(&owner, &redirect, login.as_str()).await;
        callback(&owner, &trip.callback).await;
        assert_eq!(finish(&app, &owner, "session").await.status(), 200);
        let listed: Value = owner.get(app.url("/api/me/identities")).send().await.unwrap().json().await.unwrap();
        let first_id = listed["identities"][0]["id"].as_i64().unwrap();
        // Browsers back from the provider with the first identity, continuing while it goes.
        let mut browsers = Vec::new();
        for _ in 0..6 {
            let browser = new_client();
            let authorize = started(&app, &browser, "first").await;
            let trip = through_provider(&browser, &authorize, login.as_str()).await;
            callback(&browser, &trip.callback).await;
            browsers.push(browser);
        }
        let removal = owner.delete(app.url(&format!("/api/me/identities/{first_id}"))).send();
        let app_ref = &app;
        let logins = join_all(browsers.iter().map(|b| async move {
            let r = finish(app_ref, b, "session").await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
        let (removed, logins) = tokio::join!(removal, logins);
        assert_eq!(removed.unwrap().status(), 204, "round {round}");
        for (status, body) in logins {
            // Before the removal: the owner's account. After it: a stranger again, who gets a
            // new account, or refused when the address is the owner's (account_exists); the
            // identity's epoch moved under it: federation_failed. Never a server error.
            match status {
                200 => assert!(body["id"].is_i64(), "round {round}: {body}"),
                401 => assert_eq!(body["error"], "federation_failed", "round {round}: {body}"),
                409 => assert_eq!(body["error"], "account_exists", "round {round}: {body}"),
                other => panic!("round {round}: {other} {body}"),
            }
        }
        let listed: Value = owner.get(app.url("/api/me/identities")).send().await.unwrap().json().await.unwrap();
        let left: Vec<&str> =
            listed["identities"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap()).collect();
        assert_eq!(left, ["second"], "round {round}: the removed identity stays removed from {}", user["id"]);
    }
}
