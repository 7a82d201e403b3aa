//! GraphQL: the same service as REST, with codes in `extensions` and limits on
//! what a document may ask for.

use dingdan::domain::actor::Role;
use dingdan_tests::spawn_app;
use serde_json::json;

const PRODUCT_FIELDS: &str =
    "id sku name specification unit listPrice currency weightKg leadTimeDays active
    traits { fragile liquid hazardous perishable lotTracked madeToOrder } createdAt updatedAt";

#[tokio::test]
async fn a_product_created_over_graphql_reads_the_same_over_rest() {
    let app = spawn_app().await;
    let admin = app.admin();
    let reply = app
        .graphql(
            Some(&admin),
            &format!("mutation($input: ProductInput!) {{ createProduct(input: $input) {{ {PRODUCT_FIELDS} }} }}"),
            json!({"input": {"sku": "GQL-1", "name": "Oolong", "unit": "tin", "listPrice": "66.60", "currency": "CNY",
                             "weightKg": "0.25", "traits": {"perishable": true}, "leadTimeDays": 3}}),
        )
        .await
        .expect(200);
    assert!(reply.body["errors"].is_null(), "{}", reply.text);
    let gql = &reply.body["data"]["createProduct"];
    let rest = app
        .get(
            &format!("/api/v1/products/{}", gql["id"].as_str().unwrap()),
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(rest.body["sku"], gql["sku"]);
    assert_eq!(rest.body["list_price"], gql["listPrice"]);
    assert_eq!(rest.body["weight_kg"], gql["weightKg"]);
    assert_eq!(rest.body["lead_time_days"], gql["leadTimeDays"]);
    assert_eq!(
        rest.body["traits"]["perishable"],
        gql["traits"]["perishable"]
    );
    let instant =
        |v: &serde_json::Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        instant(&rest.body["created_at"]),
        instant(&gql["createdAt"])
    );

    let by_sku = app
        .graphql(
            Some(&admin),
            "{ productBySku(sku: \"GQL-1\") { id } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(by_sku.body["data"]["productBySku"]["id"], gql["id"]);
}

#[tokio::test]
async fn connections_page_forward_with_cursors() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.create_product(&format!("C-{i}"), json!({})).await;
    }
    let query = "query($after: String) { products(first: 2, after: $after) {
        edges { cursor node { sku } } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let mut after = serde_json::Value::Null;
    let mut skus = Vec::new();
    for page in 0.. {
        let reply = app
            .graphql(Some(&app.admin()), query, json!({"after": after}))
            .await
            .expect(200);
        let conn = &reply.body["data"]["products"];
        skus.extend(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["sku"].as_str().unwrap().to_owned()),
        );
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], page > 0);
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(skus, vec!["C-0", "C-1", "C-2", "C-3", "C-4"]);
}

#[tokio::test]
async fn every_master_data_mutation_and_query_works() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = app
        .graphql(
            Some(&admin),
            "mutation { createCustomer(input: {code: \"G-C\", name: \"Guangzhou Co\", currency: \"CNY\", creditLimit: \"100.00\",
                addresses: [{name: \"A\", line1: \"1 Rd\", city: \"Guangzhou\", country: \"CN\"}]}) { id code creditLimit status addresses { city } } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        customer.body["data"]["createCustomer"]["status"], "ACTIVE",
        "{}",
        customer.text
    );
    let id = customer.body["data"]["createCustomer"]["id"]
        .as_str()
        .unwrap();
    let updated = app
        .graphql(Some(&admin), "mutation($id: UUID!) { updateCustomer(id: $id, input: {status: CREDIT_HOLD}) { status } }", json!({"id": id}))
        .await
        .expect(200);
    assert_eq!(
        updated.body["data"]["updateCustomer"]["status"],
        "CREDIT_HOLD"
    );

    let warehouse = app
        .graphql(
            Some(&admin),
            "mutation { createWarehouse(input: {code: \"G-W\", name: \"GZ\", region: \"GD\", latitude: 23.1, longitude: 113.3,
                address: {name: \"W\", line1: \"2 Rd\", city: \"Guangzhou\", country: \"CN\"}}) { id } }",
            json!({}),
        )
        .await
        .expect(200);
    let warehouse_id = warehouse.body["data"]["createWarehouse"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_product("G-P", json!({})).await;
    let receipt = app
        .graphql(
            Some(&admin),
            "mutation($w: UUID!) { receiveStock(input: {warehouseId: $w, sku: \"G-P\", quantity: 12}) { quantity level { onHand available } } }",
            json!({"w": warehouse_id}),
        )
        .await
        .expect(200);
    assert_eq!(
        receipt.body["data"]["receiveStock"]["level"]["onHand"], 12,
        "{}",
        receipt.text
    );
    let levels = app
        .graphql(Some(&admin), "{ stockLevels(sku: \"G-P\") { edges { node { available } } } stockMovements { edges { node { kind onHandDelta } } } }", json!({}))
        .await
        .expect(200);
    assert_eq!(
        levels.body["data"]["stockLevels"]["edges"][0]["node"]["available"],
        12
    );
    assert_eq!(
        levels.body["data"]["stockMovements"]["edges"][0]["node"]["kind"],
        "RECEIPT"
    );
}

#[tokio::test]
async fn errors_carry_the_same_codes_as_rest() {
    let app = spawn_app().await;
    let no_token = app
        .graphql(None, "{ products { edges { node { sku } } } }", json!({}))
        .await
        .expect(200);
    assert_eq!(
        no_token.body["errors"][0]["extensions"]["code"],
        "unauthorized"
    );

    let bad_token = app
        .graphql(
            Some("garbage"),
            "{ products { edges { node { sku } } } }",
            json!({}),
        )
        .await
        .expect(401);
    assert_eq!(
        bad_token.body["errors"][0]["extensions"]["code"],
        "unauthorized"
    );

    let forbidden = app
        .graphql(
            Some(&app.token(&[Role::Support])),
            "mutation { createProduct(input: {sku: \"X\", name: \"X\", unit: \"u\", listPrice: \"1\", currency: \"CNY\"}) { id } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        forbidden.body["errors"][0]["extensions"]["code"],
        "forbidden"
    );

    let invalid = app
        .graphql(
            Some(&app.admin()),
            "mutation { createProduct(input: {sku: \"X\", name: \"\", unit: \"u\", listPrice: \"-1\", currency: \"XYZ\"}) { id } }",
            json!({}),
        )
        .await
        .expect(200);
    let extensions = &invalid.body["errors"][0]["extensions"];
    assert_eq!(extensions["code"], "validation_failed");
    let paths: Vec<&str> = extensions["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["name", "listPrice", "currency"]);

    app.create_product("DUP", json!({})).await;
    let duplicate = app
        .graphql(
            Some(&app.admin()),
            "mutation { createProduct(input: {sku: \"DUP\", name: \"X\", unit: \"u\", listPrice: \"1\", currency: \"CNY\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        duplicate.body["errors"][0]["extensions"]["code"],
        "already_exists"
    );

    let missing = app
        .graphql(
            Some(&app.admin()),
            "query($id: UUID!) { product(id: $id) { id } }",
            json!({"id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(missing.body["errors"][0]["extensions"]["code"], "not_found");

    let syntax = app
        .graphql(Some(&app.admin()), "{ products { ", json!({}))
        .await;
    assert_eq!(
        syntax.body["errors"][0]["extensions"]["code"],
        "invalid_query"
    );
    let unknown = app
        .graphql(Some(&app.admin()), "{ nothing }", json!({}))
        .await;
    assert_eq!(
        unknown.body["errors"][0]["extensions"]["code"],
        "invalid_query"
    );
    let big_page = app
        .graphql(
            Some(&app.admin()),
            "{ products(first: 1000) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        big_page.body["errors"][0]["extensions"]["code"],
        "validation_failed"
    );
}

#[tokio::test]
async fn depth_complexity_and_alias_limits_hold() {
    let app = spawn_app().await;
    let admin = app.admin();
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}",
        "ofType { ".repeat(12) + "name" + &" }".repeat(12)
    );
    let reply = app.graphql(Some(&admin), &deep, json!({})).await;
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"], "query_too_deep",
        "{}",
        reply.text
    );

    let aliases: String = (0..31)
        .map(|i| format!("a{i}: products {{ edges {{ cursor }} }} "))
        .collect();
    let reply = app
        .graphql(Some(&admin), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"], "too_many_aliases",
        "{}",
        reply.text
    );

    // One full page of every field is fine; several are too much work.
    let page =
        format!("{{ products(first: 200) {{ edges {{ cursor node {{ {PRODUCT_FIELDS} }} }} }} }}");
    let reply = app.graphql(Some(&admin), &page, json!({})).await;
    assert!(reply.body["errors"].is_null(), "{}", reply.text);
    let wide: String = (0..5)
        .map(|i| {
            format!(
                "a{i}: products(first: 200) {{ edges {{ cursor node {{ {PRODUCT_FIELDS} }} }} }} "
            )
        })
        .collect();
    let reply = app
        .graphql(Some(&admin), &format!("{{ {wide} }}"), json!({}))
        .await;
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"], "query_too_complex",
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn the_standard_introspection_query_is_answered() {
    let app = spawn_app().await;
    // graphql-js getIntrospectionQuery(), as GraphiQL and code generators send it.
    let query = r#"query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
      types { ...FullType } directives { name description locations args { ...InputValue } } } }
    fragment FullType on __Type { kind name description
      fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
      inputFields { ...InputValue } interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
    fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }"#;
    let reply = app.graphql(None, query, json!({})).await.expect(200);
    assert!(reply.body["errors"].is_null(), "{}", reply.text);
    assert_eq!(reply.body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn aliases_hidden_in_repeated_fragments_are_counted() {
    let app = spawn_app().await;
    let fragment_aliases: String = (0..10).map(|i| format!("a{i}: sku ")).collect();
    let spreads: String = (0..5)
        .map(|i| format!("p{i}: productBySku(sku: \"X\") {{ ...F }} "))
        .collect();
    let query = format!("{{ {spreads} }} fragment F on Product {{ {fragment_aliases} }}");
    let reply = app.graphql(Some(&app.admin()), &query, json!({})).await;
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"], "too_many_aliases",
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_missing_item_is_null_beside_the_items_found() {
    let app = spawn_app().await;
    app.create_product("HERE", json!({})).await;
    let reply = app
        .graphql(
            Some(&app.admin()),
            "{ a: productBySku(sku: \"HERE\") { sku } b: productBySku(sku: \"GONE\") { sku } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["data"]["a"]["sku"], "HERE");
    assert_eq!(reply.body["data"]["b"], serde_json::Value::Null);
    assert_eq!(reply.body["errors"][0]["extensions"]["code"], "not_found");
    assert_eq!(reply.body["errors"][0]["path"], json!(["b"]));
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("SKU \"GONE\"")
    );
}

#[tokio::test]
async fn updates_and_reads_of_every_resource_work_for_staff() {
    let app = spawn_app().await;
    let admin = app.admin();
    let product = app.create_product("U-P", json!({})).await;
    let customer = app.create_customer("U-C", json!({})).await;
    let warehouse = app.create_warehouse("U-W", json!({})).await;
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($p: UUID!, $w: UUID!) {
                updateProduct(id: $p, input: {listPrice: \"12.30\", traits: {fragile: true}}) { listPrice traits { fragile } }
                updateWarehouse(id: $w, input: {active: false, name: \"Renamed\"}) { active name } }",
            json!({"p": product["id"], "w": warehouse["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["updateProduct"],
        json!({"listPrice": "12.30", "traits": {"fragile": true}}),
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body["data"]["updateWarehouse"],
        json!({"active": false, "name": "Renamed"})
    );
    let reply = app
        .graphql(
            Some(&admin),
            "query($c: UUID!, $w: UUID!) { customer(id: $c) { code contacts { name } }
              warehouse(id: $w) { code } warehouses(active: false) { edges { node { code } } } }",
            json!({"c": customer["id"], "w": warehouse["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["customer"]["code"], "U-C",
        "{}",
        reply.text
    );
    assert_eq!(reply.body["data"]["warehouse"]["code"], "U-W");
    assert_eq!(
        reply.body["data"]["warehouses"]["edges"][0]["node"]["code"],
        "U-W"
    );
    // Money is a string in GraphQL too: a number would round.
    let reply = app
        .graphql(Some(&admin), "mutation($p: UUID!) { updateProduct(id: $p, input: {listPrice: 12345678901234567.89}) { listPrice } }", json!({"p": product["id"]}))
        .await;
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("in a string"),
        "{}",
        reply.text
    );
    // Unknown fields of the request body are refused.
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&admin)
        .json(&json!({"qery": "{ products { edges { cursor } } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
