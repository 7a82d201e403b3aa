//! Warehouses.

use dingdan_tests::{address, spawn_app};
use serde_json::json;

#[tokio::test]
async fn a_warehouse_is_created_read_patched_and_listed() {
    let app = spawn_app().await;
    let body = json!({"code": "WH-SH", "name": "Shanghai DC", "address": address(), "region": "SH",
                      "latitude": 31.2304, "longitude": 121.4737, "active": true});
    let created = app
        .post("/api/v1/warehouses", &app.admin(), &body)
        .await
        .expect(201);
    for (field, value) in body.as_object().unwrap() {
        assert_eq!(&created.body[field], value, "field {field}");
    }
    let path = format!(
        "/api/v1/warehouses/{}",
        created.body["id"].as_str().unwrap()
    );
    assert_eq!(
        app.get(&path, &app.admin()).await.expect(200).body,
        created.body
    );
    let patched = app
        .patch(
            &path,
            &app.admin(),
            &json!({"active": false, "latitude": 30.0, "longitude": 120.0}),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["latitude"], 30.0);
    app.create_warehouse("WH-BJ", json!({"region": "BJ"})).await;
    let list = app
        .get("/api/v1/warehouses?region=BJ", &app.admin())
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let active = app
        .get("/api/v1/warehouses?active=true", &app.admin())
        .await
        .expect(200);
    assert_eq!(active.body["items"][0]["code"], "WH-BJ");
}

#[tokio::test]
async fn coordinates_and_addresses_are_checked() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/warehouses",
            &app.admin(),
            &json!({"code": "WH-X", "name": "X", "address": {"name": "X"}, "region": "SH", "latitude": 95.0, "longitude": 200.0}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let mut paths = reply.error_paths();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "address.city",
            "address.country",
            "address.line1",
            "latitude",
            "longitude"
        ]
    );
    let created = app.create_warehouse("WH-Y", json!({})).await;
    let path = format!("/api/v1/warehouses/{}", created["id"].as_str().unwrap());
    app.patch(&path, &app.admin(), &json!({"latitude": 10.0}))
        .await
        .expect_problem(422, "validation_failed");
    app.post("/api/v1/warehouses", &app.admin(), &json!({"code": "WH-Y", "name": "Y", "address": address(), "region": "SH", "latitude": 1.0, "longitude": 1.0}))
        .await
        .expect_problem(409, "already_exists");
}
