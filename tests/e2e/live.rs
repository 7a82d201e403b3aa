//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`): live
//! order events, with the same authentication and scoping as the rest.

use std::time::Duration;

use dingdan_tests::{TestApp, address, spawn_app};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = app.url("/graphql").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the WebSocket upgrade");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "connection_ack");
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message (pings answered, skipped).
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("a frame");
        match message {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "ping" {
                    send(socket, json!({"type": "pong"})).await;
                    continue;
                }
                return value;
            }
            Message::Close(frame) => {
                return json!({"type": "closed", "frame": format!("{frame:?}")});
            }
            _ => continue,
        }
    }
}

async fn subscribe(socket: &mut Socket, id: &str, arguments: &str, variables: Value) {
    send(
        socket,
        json!({"id": id, "type": "subscribe", "payload": {
            "query": format!(
                "subscription({}) {{ orderEvents({arguments}) {{ id type orderId customerId version status data }} }}",
                if arguments.contains("$order") { "$order: UUID" } else { "$customer: UUID" }
            ),
            "variables": variables,
        }}),
    )
    .await;
}

async fn customer_and_product(app: &TestApp, code: &str) -> String {
    let customer = app
        .create_customer(code, json!({"credit_limit": "1000000.00"}))
        .await;
    app.create_product(&format!("SKU-{code}"), json!({"list_price": "10.00"}))
        .await;
    customer["id"].as_str().unwrap().to_owned()
}

fn order_body(customer: &str, code: &str, reference: &str) -> Value {
    json!({
        "channel": "web", "external_ref": reference, "customer_id": customer, "currency": "CNY",
        "ship_to": address(), "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101"},
        "lines": [{"sku": format!("SKU-{code}"), "quantity": 1}],
    })
}

#[tokio::test]
async fn an_order_s_events_arrive_live_as_they_commit() {
    let app = spawn_app().await;
    let customer = customer_and_product(&app, "LIVE-1").await;
    let order = app
        .post(
            "/api/v1/orders",
            &app.admin(),
            &order_body(&customer, "LIVE-1", "L-1"),
        )
        .await
        .expect(201)
        .body;
    let id = order["id"].as_str().unwrap();
    let mut socket = connect(&app, &app.admin()).await;
    subscribe(&mut socket, "1", "orderId: $order", json!({"order": id})).await;
    // Give the subscription a moment to be in place before the change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.post(
        &format!("/api/v1/orders/{id}/cancel"),
        &app.admin(),
        &json!({"reason": "customer changed their mind"}),
    )
    .await
    .expect(200);
    let message = next(&mut socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], "1");
    let event = &message["payload"]["data"]["orderEvents"];
    assert_eq!(event["type"], "order.cancelled");
    assert_eq!(event["orderId"], id);
    assert_eq!(event["status"], Value::Null);
    assert_eq!(event["data"]["reason"], "customer changed their mind");
    assert!(event["version"].as_i64().unwrap() > order["version"].as_i64().unwrap());

    // Another order's events do not reach this subscription.
    app.post(
        "/api/v1/orders",
        &app.admin(),
        &order_body(&customer, "LIVE-1", "L-2"),
    )
    .await
    .expect(201);
    let quiet = tokio::time::timeout(Duration::from_millis(700), socket.next()).await;
    assert!(quiet.is_err(), "nothing more: {quiet:?}");
    // The client ends it.
    send(&mut socket, json!({"id": "1", "type": "complete"})).await;
}

#[tokio::test]
async fn a_partner_follows_only_its_own_customer_and_sees_no_review_internals() {
    let app = spawn_app().await;
    let mine = customer_and_product(&app, "LIVE-P").await;
    let other = customer_and_product(&app, "LIVE-O").await;
    let partner = app.partner(mine.parse().unwrap());
    let mut socket = connect(&app, &partner).await;

    // Another customer's stream is refused with a coded error.
    subscribe(
        &mut socket,
        "x",
        "customerId: $customer",
        json!({"customer": other}),
    )
    .await;
    let refused = next(&mut socket).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "forbidden",
        "{refused}"
    );
    assert_eq!(next(&mut socket).await["type"], "complete");

    subscribe(
        &mut socket,
        "mine",
        "customerId: $customer",
        json!({"customer": mine}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.post(
        "/api/v1/orders",
        &app.admin(),
        &order_body(&other, "LIVE-O", "L-O"),
    )
    .await
    .expect(201);
    let placed = app
        .post(
            "/api/v1/orders",
            &app.admin(),
            &order_body(&mine, "LIVE-P", "L-P"),
        )
        .await
        .expect(201)
        .body;
    let mut types = Vec::new();
    loop {
        let message = next(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"]["data"]["orderEvents"];
        assert_eq!(
            event["orderId"], placed["id"],
            "only this customer's orders"
        );
        assert_eq!(event["customerId"], mine.as_str());
        types.push(event["type"].as_str().unwrap().to_owned());
        if event["type"] == "order.confirmed" {
            break;
        }
    }
    assert_eq!(types[0], "order.created");
    // Let anything else of that commit arrive, then check none was staff-only.
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_millis(700), socket.next()).await
    {
        let message: Value = serde_json::from_str(&text).unwrap();
        let kind = message["payload"]["data"]["orderEvents"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        types.push(kind);
    }
    assert!(
        types.iter().all(|t| !t.starts_with("order.review_")),
        "{types:?}"
    );
}

#[tokio::test]
async fn an_invalid_token_is_refused_at_connection_init() {
    let app = spawn_app().await;
    let url = app.url("/graphql").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}),
    )
    .await;
    let answer = next(&mut socket).await;
    assert_eq!(answer["type"], "closed", "{answer}");
    assert!(
        answer["frame"].as_str().unwrap().contains("4403"),
        "{answer}"
    );

    // No protocol offered: not upgraded.
    let plain = app
        .client
        .get(app.url("/graphql"))
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
}

#[tokio::test]
async fn a_burst_of_events_larger_than_a_page_is_streamed_whole() {
    use dingdan_entity::outbox;
    use sea_orm::{ActiveValue::Set, EntityTrait as _};

    let app = spawn_app().await;
    let customer = customer_and_product(&app, "LIVE-B").await;
    let order = app
        .post(
            "/api/v1/orders",
            &app.admin(),
            &order_body(&customer, "LIVE-B", "LB-1"),
        )
        .await
        .expect(201)
        .body;
    let id: uuid::Uuid = order["id"].as_str().unwrap().parse().unwrap();
    let mut socket = connect(&app, &app.admin()).await;
    subscribe(
        &mut socket,
        "1",
        "orderId: $order",
        json!({"order": id.to_string()}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 700 events stamped with one instant, committed at once: more than the
    // tail reads per page, all inside its window.
    const BURST: usize = 700;
    let at = chrono::Utc::now();
    let rows: Vec<outbox::ActiveModel> = (0..BURST)
        .map(|n| outbox::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            event_type: Set("order.updated".to_owned()),
            aggregate_type: Set("order".to_owned()),
            aggregate_id: Set(id),
            aggregate_version: Set(n as i32 + 100),
            customer_id: Set(customer.parse().ok()),
            payload: Set(json!({"data": {"n": n}})),
            created_at: Set(at),
            dispatched_at: Set(Some(at)),
        })
        .collect();
    let conn = sea_orm::Database::connect(&app.database.url).await.unwrap();
    outbox::Entity::insert_many(rows)
        .exec_without_returning(&conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < BURST {
        let message = next(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        let n = message["payload"]["data"]["orderEvents"]["data"]["n"]
            .as_u64()
            .expect("a burst event");
        assert!(seen.insert(n), "event {n} arrived twice");
    }
    assert_eq!(seen.len(), BURST);
}

#[tokio::test]
async fn the_connection_closes_when_its_token_expires() {
    use jsonwebtoken::{EncodingKey, Header, encode};

    let app = spawn_app().await;
    // Expired 27 s ago: still inside the 30 s clock leeway, for 3 s more.
    let now = chrono::Utc::now().timestamp();
    let token = encode(
        &Header::default(),
        &json!({"sub": "short-lived", "roles": ["admin"], "iat": now - 60, "exp": now - 27,
                "iss": "dingdan", "aud": "dingdan"}),
        &EncodingKey::from_secret(dingdan_tests::TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let mut socket = connect(&app, &token).await;
    let customer = customer_and_product(&app, "LIVE-X").await;
    subscribe(
        &mut socket,
        "1",
        "customerId: $customer",
        json!({"customer": customer}),
    )
    .await;
    let closed = next(&mut socket).await;
    assert_eq!(closed["type"], "closed", "{closed}");
    let frame = closed["frame"].as_str().unwrap();
    assert!(
        frame.contains("4403") && frame.contains("expired"),
        "{frame}"
    );
}
