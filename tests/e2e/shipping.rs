//! Shipping: carriers and rate cards, the selection engine through the API,
//! packaging requirements, split shipments to delivered, labels and
//! manifests, and courier tracking webhooks with the vendors' real payloads.

use base64::Engine as _;
use dingdan::domain::actor::Role;
use dingdan_tests::{TestApp, fixtures_dir, spawn_app};
use hmac::Mac as _;
use md5::Digest as _;
use reqwest::Method;
use serde_json::{Value, json};

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// Express SF (fragile surcharge, no hazardous goods, 30 kg a parcel) and
/// road DEPPON; Shanghai (`SH`) is their local zone, the rest of China
/// national. Returns (carrier ids, service ids) as (sf, deppon).
async fn carriers(app: &TestApp) -> (String, String) {
    let sf = id(&app
        .post(
            "/api/v1/carriers",
            &app.admin(),
            &json!({"code": "SF", "name": "SF Express"}),
        )
        .await
        .expect(201)
        .body);
    let deppon = id(&app
        .post(
            "/api/v1/carriers",
            &app.admin(),
            &json!({"code": "DEPPON", "name": "Deppon Logistics"}),
        )
        .await
        .expect(201)
        .body);
    let zones = json!([
        {"zone": "local", "country": "CN", "regions": ["SH"]},
        {"zone": "national", "country": "CN"},
    ]);
    let sf_service = id(&app
        .post(
            &format!("/api/v1/carriers/{sf}/services"),
            &app.admin(),
            &json!({"code": "EXP", "name": "SF Next Day", "mode": "express", "currency": "CNY",
                "terms": {"zones": zones, "rates": [
                    {"zone": "local", "transit_days": 1, "breaks": [
                        {"up_to_kg": "1", "price": "12.00"}, {"up_to_kg": "5", "price": "20.00"},
                        {"up_to_kg": "30", "price": "60.00"}], "extra_per_kg": "4.00"},
                    {"zone": "national", "transit_days": 2, "breaks": [
                        {"up_to_kg": "1", "price": "18.00"}, {"up_to_kg": "5", "price": "30.00"},
                        {"up_to_kg": "30", "price": "90.00"}], "extra_per_kg": "6.00"}],
                  "surcharges": {"fragile": "5.00"}, "fuel_percent": "10",
                  "limits": {"max_weight_kg": "30", "hazardous_allowed": false},
                  "cutoff": "18:00", "utc_offset": "+08:00"}}),
        )
        .await
        .expect(201)
        .body);
    let deppon_service = id(&app
        .post(
            &format!("/api/v1/carriers/{deppon}/services"),
            &app.admin(),
            &json!({"code": "LTL", "name": "Deppon Road", "mode": "road", "currency": "CNY",
                "terms": {"zones": zones, "rates": [
                    {"zone": "local", "transit_days": 2, "breaks": [
                        {"up_to_kg": "30", "price": "15.00"}, {"up_to_kg": "500", "price": "80.00"}]},
                    {"zone": "national", "transit_days": 4, "breaks": [
                        {"up_to_kg": "30", "price": "25.00"}, {"up_to_kg": "500", "price": "120.00"}]}],
                  "minimum_charge": "18.00",
                  "limits": {"hazardous_allowed": true},
                  "cutoff": "17:00", "utc_offset": "+08:00"}}),
        )
        .await
        .expect(201)
        .body);
    (sf_service, deppon_service)
}

/// A package to pack: `[(line_no, quantity)]`, weight in kg, measures.
type PackageSpec<'a> = (&'a [(u32, i64)], &'a str, Value);

/// An order picked in full and packed as `packages` (each `[(line_no,
/// quantity)], weight_kg, measures`), ready to ship. `products` are
/// (sku, traits, quantity ordered).
async fn ready_order(
    app: &TestApp,
    products: &[(&str, Value, i64)],
    packages: &[PackageSpec<'_>],
) -> (Value, Vec<String>) {
    app.send(
        Method::PUT,
        "/api/v1/allocation-policy",
        Some(&app.admin()),
        Some(&json!({"mode": "manual"})),
    )
    .await
    .expect(200);
    let warehouse = id(&app
        .create_warehouse("WH-SH", json!({"latitude": 31.2, "longitude": 121.5}))
        .await);
    let mut lines = Vec::new();
    for (sku, traits, quantity) in products {
        app.create_product(sku, json!({"traits": traits, "list_price": "100.00"}))
            .await;
        app.receive(&warehouse, sku, *quantity, json!({}))
            .await
            .expect(201);
        lines.push(json!({"sku": sku, "quantity": quantity}));
    }
    let customer = id(&app
        .create_customer("C-SHIP", json!({"credit_limit": "1000000.00"}))
        .await);
    // Due in ten days: not urgent.
    let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).to_string();
    let order = app
        .approved_order(
            &customer,
            json!(lines),
            json!({"requested_delivery_date": due}),
        )
        .await;
    let order_id = id(&order);
    app.allocate_and_pick(&order_id, &warehouse).await;
    let body: Vec<Value> = packages
        .iter()
        .map(|(contents, weight, measures)| {
            json!({"warehouse_id": warehouse, "packaging_type": "box", "weight_kg": weight,
                   "length_cm": "30", "width_cm": "20", "height_cm": "15", "measures": measures,
                   "contents": contents.iter().map(|(line, q)| json!({"line_no": line, "quantity": q})).collect::<Vec<_>>()})
        })
        .collect();
    let packed = app
        .post(
            &format!("/api/v1/orders/{order_id}/packages"),
            &app.admin(),
            &json!({"packages": body}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(packed["order_status"], "ready_to_ship", "{packed}");
    let ids = packed["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    (order, ids)
}

async fn order_status(app: &TestApp, order: &Value) -> String {
    app.get(&format!("/api/v1/orders/{}", id(order)), &app.admin())
        .await
        .expect(200)
        .body["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn timeline_types(app: &TestApp, order: &Value) -> Vec<String> {
    app.get(
        &format!("/api/v1/orders/{}/timeline?limit=200", id(order)),
        &app.admin(),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn ship(app: &TestApp, order: &Value, body: Value) -> dingdan_tests::Reply {
    app.post(
        &format!("/api/v1/orders/{}/shipments", id(order)),
        &app.token(&[Role::Warehouse]),
        &body,
    )
    .await
}

#[tokio::test]
async fn carriers_and_rate_cards_are_validated_and_the_engine_explains_its_choice() {
    let app = spawn_app().await;
    let (sf, deppon) = carriers(&app).await;
    // Codes are unique; partners and sales do not manage carriers.
    app.post(
        "/api/v1/carriers",
        &app.admin(),
        &json!({"code": "SF", "name": "again"}),
    )
    .await
    .expect_problem(409, "duplicate_code");
    app.post(
        "/api/v1/carriers",
        &app.token(&[Role::Sales]),
        &json!({"code": "X", "name": "X"}),
    )
    .await
    .expect_problem(403, "forbidden");
    // Broken terms: every fault with its path, nothing stored.
    let carrier = app
        .get("/api/v1/carriers", &app.admin())
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post(
            &format!("/api/v1/carriers/{carrier}/services"),
            &app.admin(),
            &json!({"code": "BAD", "name": "Bad", "mode": "air", "currency": "cny",
                "terms": {"zones": [{"zone": "z", "country": "CN"}, {"zone": "nowhere", "country": "CN"}],
                          "rates": [{"zone": "z", "transit_days": 1, "breaks": [
                              {"up_to_kg": "5", "price": "10"}, {"up_to_kg": "2", "price": "-1"}]}],
                          "fuel_percent": "150", "cutoff": "25:00", "utc_offset": "+08:00"}}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let paths = reply.error_paths();
    assert!(paths.contains(&"currency".to_owned()), "{paths:?}");
    assert!(paths.contains(&"terms.cutoff".to_owned()), "{paths:?}");
    let reply = app
        .post(
            &format!("/api/v1/carriers/{carrier}/services"),
            &app.admin(),
            &json!({"code": "BAD", "name": "Bad", "mode": "air", "currency": "CNY",
                "terms": {"zones": [{"zone": "z", "country": "CN"}, {"zone": "nowhere", "country": "CN"}],
                          "rates": [{"zone": "z", "transit_days": 1, "breaks": [
                              {"up_to_kg": "5", "price": "10"}, {"up_to_kg": "2", "price": "-1"}]}],
                          "fuel_percent": "150", "cutoff": "17:00", "utc_offset": "+08:00"}}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let paths = reply.error_paths();
    for expected in [
        "terms.zones[1].zone",
        "terms.rates[0].breaks[1].up_to_kg",
        "terms.rates[0].breaks[1].price",
        "terms.fuel_percent",
    ] {
        assert!(
            paths.contains(&expected.to_owned()),
            "{expected} in {paths:?}"
        );
    }
    let listed = app
        .get("/api/v1/carriers", &app.admin())
        .await
        .expect(200)
        .body;
    let services: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["services"].as_array().unwrap())
        .collect();
    assert_eq!(services.len(), 2, "the bad service was not stored");
    let express = services.iter().find(|s| s["code"] == "EXP").unwrap();
    assert_eq!(express["terms"]["cutoff"], "18:00");
    assert_eq!(express["terms"]["rates"][0]["breaks"][1]["price"], "20.00");

    // A small parcel to Shanghai: express wins. 2 kg → the 5 kg break
    // (20.00), fuel 10 % (2.00): 22.00.
    let (order, _) = ready_order(
        &app,
        &[("CUP", json!({}), 1)],
        &[(&[(1, 1)], "2", json!([]))],
    )
    .await;
    let quote = app
        .post(
            &format!("/api/v1/orders/{}/shipping-quote", id(&order)),
            &app.admin(),
            &json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(quote["profile"]["rule"], "small → express", "{quote}");
    assert_eq!(quote["chosen"], sf);
    let winner = &quote["candidates"][0];
    assert_eq!(winner["won"], true);
    assert_eq!(winner["zone"], "local");
    assert_eq!(winner["price"]["base"], "20.00");
    assert_eq!(winner["price"]["fuel"], "2.00");
    assert_eq!(winner["price"]["total"], "22.00");
    let road = &quote["candidates"][1];
    assert_eq!(road["service_id"], deppon);
    // 15.00 raised to the 18.00 minimum.
    assert_eq!(road["price"]["minimum_uplift"], "3.00");
    assert_eq!(road["price"]["total"], "18.00");
    assert!(
        road["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("not a preferred mode")),
        "{road}"
    );

    // Express switched off: road is the fallback, and says so.
    app.patch(
        &format!("/api/v1/carrier-services/{sf}"),
        &app.admin(),
        &json!({"active": false}),
    )
    .await
    .expect(200);
    let quote = app
        .post(
            &format!("/api/v1/orders/{}/shipping-quote", id(&order)),
            &app.admin(),
            &json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(quote["chosen"], deppon);
    assert!(
        quote["explanation"]
            .as_str()
            .unwrap()
            .contains("no service of a preferred mode"),
        "{quote}"
    );
}

#[tokio::test]
async fn a_split_shipment_goes_to_delivered_with_labels_manifest_and_proof() {
    let app = spawn_app().await;
    let (sf, deppon) = carriers(&app).await;
    let (order, packages) = ready_order(
        &app,
        &[
            ("MUG", json!({}), 2),
            ("GLASS", json!({"fragile": true}), 1),
        ],
        &[
            (&[(1, 2)], "1.5", json!([])),
            (&[(2, 1)], "4", json!(["shock_proof"])),
        ],
    )
    .await;
    let status = order_status(&app, &order).await;
    assert_eq!(status, "ready_to_ship");

    // First package by the engine's choice (express, local).
    let first = ship(
        &app,
        &order,
        json!({"package_ids": [packages[0]], "tracking_number": "SF100000001",
               "handed_over_at": "2026-11-24T03:00:00Z"}),
    )
    .await
    .expect(201)
    .body;
    assert_eq!(first["carrier_service_id"], sf);
    assert_eq!(first["status"], "created");
    assert_eq!(first["override"], Value::Null);
    assert_eq!(order_status(&app, &order).await, "partially_shipped");
    // A package ships once.
    let again = ship(
        &app,
        &order,
        json!({"package_ids": [packages[0]], "tracking_number": "SF100000009"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(again.body["errors"][0]["code"], "already_shipped");
    // The same tracking number twice for one carrier is refused.
    ship(
        &app,
        &order,
        json!({"package_ids": [packages[1]], "tracking_number": "SF100000001"}),
    )
    .await
    .expect_problem(409, "duplicate_tracking_number");

    // Second by road against the engine's advice: a reason is required,
    // then recorded.
    ship(
        &app,
        &order,
        json!({"package_ids": [packages[1]], "carrier_service_id": deppon,
               "tracking_number": "DP200000002"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let second = ship(
        &app,
        &order,
        json!({"package_ids": [packages[1]], "carrier_service_id": deppon,
               "override_reason": "customer asked for the road service",
               "tracking_number": "DP200000002"}),
    )
    .await
    .expect(201)
    .body;
    assert_eq!(
        second["override"]["reason"],
        "customer asked for the road service"
    );
    assert_eq!(second["override"]["engine_choice"], sf);
    assert_eq!(order_status(&app, &order).await, "shipped");

    // The label: a PDF carrying the tracking number (and its barcode).
    let label = app
        .client
        .get(app.url(&format!("/api/v1/packages/{}/label.pdf", packages[0])))
        .bearer_auth(app.admin())
        .send()
        .await
        .unwrap();
    assert_eq!(label.status(), 200);
    assert_eq!(label.headers()["content-type"], "application/pdf");
    let bytes = label.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(
        bytes.windows(11).any(|w| w == b"SF100000001"),
        "the tracking number is printed"
    );
    let slip = app
        .client
        .get(app.url(&format!(
            "/api/v1/packages/{}/packing-slip.pdf",
            packages[1]
        )))
        .bearer_auth(app.admin())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(slip.windows(5).any(|w| w == b"GLASS"));

    // The manifest of the carrier's local day (UTC+8: 11:00 on 24 November),
    // and of the UTC day before, which does not have it.
    let manifest = app
        .get(
            "/api/v1/shipping-manifests?carrier=SF&date=2026-11-24",
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(manifest["utc_offset"], "+08:00");
    assert_eq!(manifest["shipments"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["shipments"][0]["tracking_number"], "SF100000001");
    assert_eq!(manifest["weight_kg"], "1.5");
    let elsewhere = app
        .get(
            "/api/v1/shipping-manifests?carrier=SF&date=2026-11-23&utc_offset=%2B00:00",
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert!(elsewhere["shipments"].as_array().unwrap().is_empty());

    // Tracking by hand: in transit, out for delivery (the pre-arrival
    // notice), delivered with proof.
    let app_ref = &app;
    let track = move |shipment: &Value, body: Value| {
        let path = format!("/api/v1/shipments/{}/tracking", id(shipment));
        let token = app_ref.token(&[Role::Support]);
        async move { app_ref.post(&path, &token, &body).await }
    };
    track(
        &first,
        json!({"status": "in_transit", "occurred_at": "2999-01-01T00:00:00Z"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    track(&first, json!({"status": "in_transit", "occurred_at": "2026-11-25T02:00:00Z", "location": "Shanghai hub"}))
        .await
        .expect(200);
    track(
        &first,
        json!({"status": "out_for_delivery", "occurred_at": "2026-11-25T05:00:00Z"}),
    )
    .await
    .expect(200);
    let delivered = track(
        &first,
        json!({"status": "delivered", "occurred_at": "2026-11-25T08:00:00Z",
               "signed_by": "Li Wei", "location": "front desk"}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["proof_of_delivery"]["signed_by"], "Li Wei");
    assert_eq!(delivered["proof_of_delivery"]["source"], "manual");
    // One of two delivered: the order is still shipped.
    assert_eq!(order_status(&app, &order).await, "shipped");
    // A late in-transit report does not undo delivered.
    let late = track(
        &first,
        json!({"status": "in_transit", "occurred_at": "2026-11-25T09:00:00Z"}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(late["status"], "delivered");
    let tracking = app
        .get(
            &format!("/api/v1/shipments/{}/tracking", id(&first)),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let entries = tracking["items"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[3]["applied"], false);
    assert_eq!(tracking["status"], "delivered");

    track(
        &second,
        json!({"status": "delivered", "signed_by": "Wang Fang"}),
    )
    .await
    .expect(200);
    assert_eq!(order_status(&app, &order).await, "delivered");

    let types = timeline_types(&app, &order).await;
    for expected in [
        "shipment.created",
        "order.shipped",
        "shipment.tracking_updated",
        "shipment.out_for_delivery",
        "shipment.delivered",
        "order.delivered",
    ] {
        assert!(
            types.contains(&expected.to_owned()),
            "{expected} in {types:?}"
        );
    }
    // The pre-arrival notice carries what a mail or SMS sender needs.
    let events = app
        .get(
            "/api/v1/events?type=shipment.out_for_delivery",
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let notice = &events["items"][0];
    assert_eq!(
        notice["notification"]["template"], "pre_arrival",
        "{notice}"
    );
    assert_eq!(notice["notification"]["recipient"]["name"], "Li Wei");
    assert_eq!(notice["data"]["tracking_number"], "SF100000001");
}

#[tokio::test]
async fn packaging_is_checked_against_the_goods_traits() {
    let app = spawn_app().await;
    let reply = {
        app.send(
            Method::PUT,
            "/api/v1/allocation-policy",
            Some(&app.admin()),
            Some(&json!({"mode": "manual"})),
        )
        .await
        .expect(200);
        let warehouse = id(&app
            .create_warehouse("WH-P", json!({"latitude": 31.2, "longitude": 121.5}))
            .await);
        app.create_product(
            "ACID",
            json!({"traits": {"liquid": true, "hazardous": true, "fragile": true}}),
        )
        .await;
        app.receive(&warehouse, "ACID", 1, json!({}))
            .await
            .expect(201);
        let customer = id(&app.create_customer("C-P", json!({})).await);
        let order = app
            .approved_order(
                &customer,
                json!([{"sku": "ACID", "quantity": 1}]),
                json!({}),
            )
            .await;
        app.post(
            &format!("/api/v1/orders/{}/allocation", id(&order)),
            &app.admin(),
            &json!({}),
        )
        .await
        .expect(200);
        let list = app
            .get(
                &format!("/api/v1/warehouses/{warehouse}/pick-lists"),
                &app.admin(),
            )
            .await
            .expect(200)
            .body;
        let item = &list["groups"][0]["items"][0];
        app.post(
            &format!("/api/v1/warehouses/{warehouse}/pick"),
            &app.admin(),
            &json!({"picks": [{"allocation_id": item["allocation_id"], "quantity": 1}]}),
        )
        .await
        .expect(200);
        let pack = |measures: Value| {
            json!({"packages": [{"warehouse_id": warehouse, "packaging_type": "box", "weight_kg": "1",
                   "length_cm": "10", "width_cm": "10", "height_cm": "10", "measures": measures,
                   "contents": [{"line_no": 1, "quantity": 1}]}]})
        };
        let path = format!("/api/v1/orders/{}/packages", id(&order));
        let refused = app
            .post(&path, &app.admin(), &pack(json!(["sealed"])))
            .await
            .expect_problem(422, "validation_failed");
        app.post(
            &path,
            &app.admin(),
            &pack(json!(["sealed", "shock_proof", "hazard_marked"])),
        )
        .await
        .expect(201);
        refused
    };
    let messages: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("shock_proof")));
    assert!(messages.iter().any(|m| m.contains("hazard_marked")));
    assert!(
        reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["path"] == "packages[0].measures" && e["code"] == "packaging_required")
    );
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(path)).expect("a fixture")
}

fn hmac256(secret: &[u8], body: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

async fn courier_account(app: &TestApp, source: &str, secret: &str) -> (String, String) {
    let account = app
        .post(
            "/api/v1/courier-accounts",
            &app.token(&[Role::Integration]),
            &json!({"source": source, "name": format!("{source} feed"), "webhook_secret": secret}),
        )
        .await
        .expect(201)
        .body;
    let url = account["webhook_url"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/webhooks/couriers/{source}/{}", id(&account));
    // SF signs nothing: its secret goes in the URL, never echoed back.
    let url = match url.strip_suffix("/{webhook_secret}") {
        Some(base) if source == "sf_express" => base.to_owned(),
        _ => url,
    };
    assert!(url.ends_with(&path), "{url}");
    assert!(
        !account.to_string().contains(secret),
        "the secret is not returned"
    );
    (id(&account), url)
}

/// What was stored of the pushes to an account: (outcome, tracking number).
async fn pushes(app: &TestApp, account: &str) -> Vec<(String, Option<String>)> {
    app.get(
        &format!("/api/v1/courier-accounts/{account}/pushes"),
        &app.admin(),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["outcome"].as_str().unwrap().to_owned(),
                p["tracking_number"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn push(
    app: &TestApp,
    url: &str,
    headers: &[(&str, String)],
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = app
        .client
        .post(url)
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A shipment's status and how many tracking events moved it.
async fn shipment_status(app: &TestApp, shipment: &Value) -> (String, usize) {
    let tracking = app
        .get(
            &format!("/api/v1/shipments/{}/tracking", id(shipment)),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    (
        tracking["status"].as_str().unwrap().to_owned(),
        tracking["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["applied"] == true)
            .count(),
    )
}

#[tokio::test]
async fn courier_pushes_are_verified_deduplicated_and_applied_out_of_order() {
    let app = spawn_app().await;
    carriers(&app).await;
    // One shipment per courier, under the tracking numbers of the real
    // payloads in the fixtures.
    let numbers = [
        "1",                  // EasyPost event-body.json
        "111111111111",       // AfterShip tracking
        "YT6186594166532",    // Kuaidi100 param
        "1Z2617V10397725789", // 17TRACK push
        "SF7000000001",       // SF route push (built from the contract)
    ];
    let contents: Vec<[(u32, i64); 1]> = (1..=5).map(|_| [(1, 1)]).collect();
    let packages: Vec<PackageSpec<'_>> =
        contents.iter().map(|c| (&c[..], "1", json!([]))).collect();
    let (order, package_ids) = ready_order(&app, &[("BOOK", json!({}), 5)], &packages).await;
    let mut shipments = Vec::new();
    for (package, number) in package_ids.iter().zip(numbers) {
        shipments.push(
            ship(
                &app,
                &order,
                json!({"package_ids": [package], "tracking_number": number}),
            )
            .await
            .expect(201)
            .body,
        );
    }
    assert_eq!(order_status(&app, &order).await, "shipped");

    // EasyPost: the real signature vector verifies.
    let (easypost_id, easypost) = courier_account(&app, "easypost", "sécret").await;
    let mut body = fixture("easypost/event-body.json");
    if body.last() == Some(&b'\n') {
        body.pop();
    }
    let vector: Value = serde_json::from_slice(&fixture(
        "easypost/client-library-fixtures.webhooks-excerpt.json",
    ))
    .unwrap();
    let signature = vector["webhooks"]["hmac_signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[at] = b'2';
    let (status, _) = push(
        &app,
        &easypost,
        &[("x-hmac-signature", signature.clone())],
        "application/json",
        tampered,
    )
    .await;
    assert_eq!(status, 401, "a tampered body is refused");
    let (status, _) = push(&app, &easypost, &[], "application/json", body.clone()).await;
    assert_eq!(status, 401, "an unsigned body is refused");
    assert_eq!(
        shipment_status(&app, &shipments[0]).await,
        ("created".to_owned(), 0)
    );
    assert!(
        pushes(&app, &easypost_id).await.is_empty(),
        "nothing stored"
    );
    let (status, reply) = push(
        &app,
        &easypost,
        &[("x-hmac-signature", signature.clone())],
        "application/json",
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let (state, entries) = shipment_status(&app, &shipments[0]).await;
    assert_eq!(state, "in_transit");
    assert_eq!(entries, 1);
    // The courier's history joins the timeline, oldest first.
    let timeline = app
        .get(
            &format!("/api/v1/shipments/{}/tracking", id(&shipments[0])),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let items = timeline["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "{timeline}");
    assert_eq!(items[0]["status"], "info_received");
    assert_eq!(items[0]["raw_status"], "pre_transit");
    // The same event again: accepted, ignored.
    let (status, _) = push(
        &app,
        &easypost,
        &[("x-hmac-signature", signature)],
        "application/json",
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shipment_status(&app, &shipments[0]).await.1, 1);
    assert_eq!(
        pushes(&app, &easypost_id).await,
        vec![("applied".to_owned(), Some("1".to_owned()))],
        "stored once"
    );

    // AfterShip: the Tracking object in its webhook envelope.
    let (_, aftership) = courier_account(&app, "aftership", "as-secret").await;
    let tracking: Value =
        serde_json::from_slice(&fixture("aftership/sdk-java_GetTrackingResult.json")).unwrap();
    let envelope = serde_json::to_vec(&json!({
        "event": "tracking_update", "event_id": "b2f7ad1f-7b1c-4bd5-9b1c-1d3b6c0e9e11",
        "is_tracking_first_tag": false, "msg": tracking["data"]["tracking"], "ts": 1_532_480_000,
    }))
    .unwrap();
    let sign = |secret: &str, body: &[u8]| {
        base64::engine::general_purpose::STANDARD.encode(hmac256(secret.as_bytes(), body))
    };
    let (status, _) = push(
        &app,
        &aftership,
        &[("aftership-hmac-sha256", sign("wrong", &envelope))],
        "application/json",
        envelope.clone(),
    )
    .await;
    assert_eq!(status, 401, "a wrong secret is refused");
    let (status, _) = push(
        &app,
        &aftership,
        &[("aftership-hmac-sha256", sign("as-secret", &envelope))],
        "application/json",
        envelope,
    )
    .await;
    assert_eq!(status, 200);
    let delivered = app
        .get(
            &format!("/api/v1/shipments/{}", id(&shipments[1])),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["proof_of_delivery"]["source"], "aftership");
    assert!(
        delivered["proof_of_delivery"]["signed_by"].is_string(),
        "{delivered}"
    );

    // Kuaidi100: a form with `param` and its computed sign; the reply is
    // the one it requires.
    let (_, kuaidi100) = courier_account(&app, "kuaidi100", "salt-123").await;
    let param =
        String::from_utf8(fixture("kuaidi100/push_param_yuantong_2021_resultv2.json")).unwrap();
    let param = param.trim_end().to_owned();
    let sign = hex::encode_upper(md5::Md5::digest(format!("{param}salt-123").as_bytes()));
    let form = |sign: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("param", &param)
            .append_pair("sign", sign)
            .finish()
            .into_bytes()
    };
    let (status, reply) = push(
        &app,
        &kuaidi100,
        &[],
        "application/x-www-form-urlencoded",
        form("00000000000000000000000000000000"),
    )
    .await;
    assert_eq!(status, 401);
    assert!(reply.contains("\"result\":false"), "{reply}");
    let (status, reply) = push(
        &app,
        &kuaidi100,
        &[],
        "application/x-www-form-urlencoded",
        form(&sign),
    )
    .await;
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(
        reply,
        json!({"result": true, "returnCode": "200", "message": "成功"})
    );
    assert_eq!(shipment_status(&app, &shipments[2]).await.0, "in_transit");

    // 17TRACK: sign = sha256(body + "/" + key).
    let (_, track17) = courier_account(&app, "17track", "api-key-17").await;
    let body = fixture("17track/mock_17track_webhook.json");
    let mut signed = body.clone();
    signed.extend_from_slice(b"/api-key-17");
    let sign = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&signed));
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'U').unwrap();
    tampered[at] = b'V';
    let (status, _) = push(
        &app,
        &track17,
        &[("sign", sign.clone())],
        "application/json",
        tampered,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = push(&app, &track17, &[("sign", sign)], "application/json", body).await;
    assert_eq!(status, 200);
    assert_eq!(shipment_status(&app, &shipments[3]).await.0, "delivered");

    // SF Express: the secret in the callback URL; delivered first, then a
    // late pick-up report, which is kept but does not undo it.
    let (sf_id, sf) = courier_account(&app, "sf_express", "sf-token").await;
    let route = |id: &str, op: &str, at: &str| {
        serde_json::to_vec(&json!({"Body": {"WaybillRoute": [{
            "mailno": "SF7000000001", "orderid": "O-1", "acceptTime": at,
            "acceptAddress": "Shanghai", "remark": format!("op {op}"), "opCode": op, "id": id}]}}))
        .unwrap()
    };
    let (status, _) = push(
        &app,
        &format!("{sf}/nope"),
        &[],
        "application/json",
        route("r-2", "80", "2026-12-02 10:00:00"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, reply) = push(
        &app,
        &format!("{sf}/sf-token"),
        &[],
        "application/json",
        route("r-2", "80", "2026-12-02 10:00:00"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&reply).unwrap(),
        json!({"return_code": "0000", "return_msg": "success"})
    );
    let (status, _) = push(
        &app,
        &format!("{sf}/sf-token"),
        &[],
        "application/json",
        route("r-1", "50", "2026-12-01 09:00:00"),
    )
    .await;
    assert_eq!(status, 200);
    let tracking = app
        .get(
            &format!("/api/v1/shipments/{}/tracking", id(&shipments[4])),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(tracking["status"], "delivered");
    let items = tracking["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    // In the order things happened: the pick-up first, not applied.
    assert_eq!(items[0]["status"], "in_transit");
    assert_eq!(items[0]["applied"], false);
    assert_eq!(items[0]["raw_status"], "50");
    assert_eq!(items[1]["status"], "delivered");

    // An unknown tracking number: 202, stored, nothing else.
    let (status, _) = push(
        &app,
        &format!("{sf}/sf-token"),
        &[],
        "application/json",
        serde_json::to_vec(&json!({"Body": {"WaybillRoute": [{
            "mailno": "SF-UNKNOWN", "acceptTime": "2026-12-01 09:00:00", "opCode": "50", "id": "r-9"}]}}))
        .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    assert!(
        pushes(&app, &sf_id)
            .await
            .contains(&("unknown_tracking".to_owned(), Some("SF-UNKNOWN".to_owned())))
    );
    // A courier exception on a shipment in transit: an event to follow up.
    let (status, _) = push(
        &app,
        &format!("{sf}/sf-token"),
        &[],
        "application/json",
        serde_json::to_vec(&json!({"Body": {"WaybillRoute": [{
            "mailno": "YT6186594166532", "acceptTime": "2026-12-03 09:00:00", "opCode": "70",
            "reasonName": "收件人拒收", "id": "r-10"}]}}))
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shipment_status(&app, &shipments[2]).await.0, "exception");
    let events = app
        .get("/api/v1/events?type=shipment.exception", &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(
        events["items"][0]["data"]["tracking_number"],
        "YT6186594166532"
    );
    assert_eq!(events["items"][0]["data"]["raw_status"], "70");
    // A source/account mismatch is not found.
    let (status, _) = push(
        &app,
        &sf.replace("sf_express", "easypost"),
        &[],
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 404);

    // AfterShip and 17TRACK delivered, SF delivered; EasyPost in transit,
    // Kuaidi100's in trouble: the order waits for them.
    assert_eq!(order_status(&app, &order).await, "shipped");
}

#[tokio::test]
async fn concurrent_shipments_of_the_same_package_ship_it_once() {
    let app = spawn_app().await;
    carriers(&app).await;
    let (order, packages) = ready_order(
        &app,
        &[("PEN", json!({}), 1)],
        &[(&[(1, 1)], "0.5", json!([]))],
    )
    .await;
    let attempts = (0..6).map(|n| {
        ship(
            &app,
            &order,
            json!({"package_ids": [packages[0]], "tracking_number": format!("SF90000000{n}")}),
        )
    });
    let replies = futures_util::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [201, 409, 422].contains(s)),
        "{statuses:?}"
    );
    let shipments = app
        .get(
            &format!("/api/v1/orders/{}/shipments", id(&order)),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(shipments["items"].as_array().unwrap().len(), 1);
    assert_eq!(order_status(&app, &order).await, "shipped");
}

#[tokio::test]
async fn graphql_ships_and_tracks_like_rest() {
    let app = spawn_app().await;
    let admin = app.admin();
    let gql = |query: &'static str, variables: Value| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let reply = app.graphql(Some(&admin), query, variables).await;
            assert!(reply.body["errors"].is_null(), "{}", reply.body);
            reply.body["data"].clone()
        }
    };
    let carrier = gql(
        "mutation { createCarrier(input: {code: \"ZTO\", name: \"ZTO Express\"}) { id code } }",
        json!({}),
    )
    .await;
    let carrier_id = carrier["createCarrier"]["id"].as_str().unwrap().to_owned();
    let service = gql(
        "mutation($carrier: UUID!, $input: JSON!) { addCarrierService(carrierId: $carrier, input: $input) { id mode terms } }",
        json!({"carrier": carrier_id, "input": {"code": "STD", "name": "Standard", "mode": "express",
            "currency": "CNY", "terms": {"zones": [{"zone": "cn", "country": "CN"}],
            "rates": [{"zone": "cn", "transit_days": 2, "breaks": [{"up_to_kg": "10", "price": "9.50"}]}],
            "cutoff": "17:30", "utc_offset": "+08:00"}}}),
    )
    .await;
    assert_eq!(service["addCarrierService"]["mode"], "EXPRESS");
    assert_eq!(service["addCarrierService"]["terms"]["cutoff"], "17:30");
    // Bad terms are a coded error, as in REST.
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($carrier: UUID!, $input: JSON!) { addCarrierService(carrierId: $carrier, input: $input) { id } }",
            json!({"carrier": carrier_id, "input": {"code": "BAD", "name": "Bad", "mode": "air",
                "currency": "CNY", "terms": {"zones": [], "rates": [], "cutoff": "17:30", "utc_offset": "+08:00"}}}),
        )
        .await;
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"], "validation_failed",
        "{}",
        reply.body
    );

    let (order, packages) = ready_order(
        &app,
        &[("TEA", json!({}), 1)],
        &[(&[(1, 1)], "0.8", json!([]))],
    )
    .await;
    let quote = gql(
        "query($order: UUID!) { shippingQuote(orderId: $order) { chosen explanation candidates { carrierCode won price { total } reasons } } }",
        json!({"order": id(&order)}),
    )
    .await;
    assert_eq!(
        quote["shippingQuote"]["candidates"][0]["carrierCode"],
        "ZTO"
    );
    assert_eq!(
        quote["shippingQuote"]["candidates"][0]["price"]["total"],
        "9.50"
    );
    let shipped = gql(
        "mutation($order: UUID!, $package: UUID!) { createShipment(orderId: $order, input: {packageIds: [$package], trackingNumber: \"ZT123\"}) { id status carrierCode packageIds } }",
        json!({"order": id(&order), "package": packages[0]}),
    )
    .await;
    let shipment = shipped["createShipment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(shipped["createShipment"]["status"], "CREATED");
    let tracked = gql(
        "mutation($id: UUID!) { recordTrackingEvent(shipmentId: $id, input: {status: DELIVERED, signedBy: \"Zhou\"}) { status proofOfDelivery { signedBy source } } }",
        json!({"id": shipment}),
    )
    .await;
    assert_eq!(tracked["recordTrackingEvent"]["status"], "DELIVERED");
    assert_eq!(
        tracked["recordTrackingEvent"]["proofOfDelivery"]["signedBy"],
        "Zhou"
    );
    let timeline = gql(
        "query($id: UUID!, $order: UUID!) { shipmentTracking(shipmentId: $id) { status source applied } shipments(orderId: $order) { trackingNumber } }",
        json!({"id": shipment, "order": id(&order)}),
    )
    .await;
    assert_eq!(timeline["shipmentTracking"][0]["source"], "manual");
    assert_eq!(timeline["shipments"][0]["trackingNumber"], "ZT123");
    assert_eq!(order_status(&app, &order).await, "delivered");
}

#[tokio::test]
async fn a_partially_allocated_order_ships_what_it_has_and_the_rest_later() {
    let app = spawn_app().await;
    carriers(&app).await;
    app.send(
        Method::PUT,
        "/api/v1/allocation-policy",
        Some(&app.admin()),
        Some(&json!({"mode": "manual"})),
    )
    .await
    .expect(200);
    let warehouse = id(&app
        .create_warehouse("WH-PA", json!({"latitude": 31.2, "longitude": 121.5}))
        .await);
    app.create_product("LAMP", json!({"list_price": "50.00"}))
        .await;
    app.receive(&warehouse, "LAMP", 1, json!({}))
        .await
        .expect(201);
    let customer = id(&app
        .create_customer(
            "C-PA",
            json!({"credit_limit": "100000.00", "allow_partial_shipment": true}),
        )
        .await);
    let order = app
        .approved_order(
            &customer,
            json!([{"sku": "LAMP", "quantity": 2}]),
            json!({}),
        )
        .await;
    let order_id = id(&order);
    let allocate = async || {
        app.post(
            &format!("/api/v1/orders/{order_id}/allocation"),
            &app.admin(),
            &json!({}),
        )
        .await
        .expect(200)
        .body["order_status"]
            .clone()
    };
    let pick_and_pack = async || {
        let list = app
            .get(
                &format!("/api/v1/warehouses/{warehouse}/pick-lists"),
                &app.admin(),
            )
            .await
            .expect(200)
            .body;
        let item = list["groups"][0]["items"][0].clone();
        app.post(
            &format!("/api/v1/warehouses/{warehouse}/pick"),
            &app.admin(),
            &json!({"picks": [{"allocation_id": item["allocation_id"], "quantity": 1}]}),
        )
        .await
        .expect(200);
        app.post(
            &format!("/api/v1/orders/{order_id}/packages"),
            &app.admin(),
            &json!({"packages": [{"warehouse_id": warehouse, "packaging_type": "box",
                "weight_kg": "2", "length_cm": "20", "width_cm": "20", "height_cm": "20",
                "contents": [{"line_no": 1, "quantity": 1}]}]}),
        )
        .await
        .expect(201)
        .body
    };
    assert_eq!(allocate().await, "partially_allocated");
    pick_and_pack().await;
    // What is there ships; the order keeps waiting for the rest.
    ship(&app, &order, json!({"tracking_number": "SFPA0001"}))
        .await
        .expect(201);
    assert_eq!(order_status(&app, &order).await, "partially_allocated");
    app.receive(&warehouse, "LAMP", 1, json!({}))
        .await
        .expect(201);
    app.settle().await;
    if order_status(&app, &order).await != "allocated" {
        assert_eq!(allocate().await, "allocated");
    }
    let packed = pick_and_pack().await;
    assert_eq!(packed["order_status"], "ready_to_ship");
    ship(&app, &order, json!({"tracking_number": "SFPA0002"}))
        .await
        .expect(201);
    assert_eq!(order_status(&app, &order).await, "shipped");
    let shipments = app
        .get(
            &format!("/api/v1/orders/{order_id}/shipments"),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(shipments["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_same_push_delivered_at_once_applies_once() {
    let app = spawn_app().await;
    carriers(&app).await;
    let (order, packages) = ready_order(
        &app,
        &[("BOX", json!({}), 1)],
        &[(&[(1, 1)], "1", json!([]))],
    )
    .await;
    let shipment = ship(
        &app,
        &order,
        json!({"package_ids": [packages[0]], "tracking_number": "1Z2617V10397725789"}),
    )
    .await
    .expect(201)
    .body;
    let (account, url) = courier_account(&app, "17track", "k-17-secret").await;
    let body = fixture("17track/mock_17track_webhook.json");
    let mut signed = body.clone();
    signed.extend_from_slice(b"/k-17-secret");
    let sign = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&signed));
    let headers = [("sign", sign)];
    let sends = (0..6).map(|_| push(&app, &url, &headers, "application/json", body.clone()));
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        shipment_status(&app, &shipment).await,
        ("delivered".to_owned(), 1)
    );
    assert_eq!(pushes(&app, &account).await.len(), 1);
    assert_eq!(order_status(&app, &order).await, "delivered");
}
