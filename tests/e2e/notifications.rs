//! Customer notifications: customer-facing events carry recipient, template
//! and data; with SMTP configured they go out as email (to a local SMTP
//! server started here).

use std::sync::{Arc, Mutex};

use dingdan_tests::{TestApp, address, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// One message as the SMTP server received it.
#[derive(Clone, Debug)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server (RFC 5321: EHLO, MAIL, RCPT, DATA, RSET, NOOP,
/// QUIT) that keeps what it is sent.
#[derive(Clone)]
struct SmtpServer {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 localhost ESMTP test\r\n").await.ok();
                    let mut mail = Mail {
                        from: String::new(),
                        to: Vec::new(),
                        data: String::new(),
                    };
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-localhost\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            mail.from = line[10..].trim().to_owned();
                            b"250 OK\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            mail.to.push(line[8..].trim().to_owned());
                            b"250 OK\r\n"
                        } else if upper == "DATA" {
                            write.write_all(b"354 go ahead\r\n").await.ok();
                            while let Ok(Some(data)) = lines.next_line().await {
                                if data == "." {
                                    break;
                                }
                                mail.data.push_str(&data);
                                mail.data.push('\n');
                            }
                            store.lock().unwrap().push(mail.clone());
                            mail.to.clear();
                            mail.data.clear();
                            b"250 queued\r\n"
                        } else if upper == "QUIT" {
                            write.write_all(b"221 bye\r\n").await.ok();
                            break;
                        } else if upper == "RSET" || upper == "NOOP" {
                            b"250 OK\r\n"
                        } else {
                            b"502 not implemented\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { port, mails }
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn place(app: &TestApp, reference: &str, contact: Value, complete: bool) -> Value {
    let code = format!("N-{reference}");
    let customer = app
        .create_customer(&code, json!({"credit_limit": "1000000.00"}))
        .await;
    app.create_product(&format!("SKU-{code}"), json!({"list_price": "10.00"}))
        .await;
    let mut body = json!({
        "channel": "web", "external_ref": reference, "customer_id": customer["id"],
        "currency": "CNY", "contact": contact,
        "lines": [{"sku": format!("SKU-{code}"), "quantity": 3}],
    });
    body["ship_to"] = address();
    if !complete {
        // A SKU nobody knows: kept in pending_info, the customer is asked.
        body["lines"] = json!([{"sku": "NO-SUCH-SKU", "quantity": 1}]);
    }
    app.post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body
}

async fn event_of(app: &TestApp, order: &Value, kind: &str) -> Value {
    let events = app
        .get(
            &format!(
                "/api/v1/events?resource_id={}",
                order["id"].as_str().unwrap()
            ),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("{kind} in {events}"))
        .clone()
}

#[tokio::test]
async fn customer_facing_events_carry_recipient_template_and_data() {
    let app = spawn_app().await;
    let contact =
        json!({"name": "Li Wei", "phone": "+86 21 5555 0101", "email": "liwei@example.com"});
    let order = place(&app, "NOTE-1", contact.clone(), true).await;
    let confirmed = event_of(&app, &order, "order.confirmed").await;
    let notification = &confirmed["notification"];
    assert_eq!(notification["template"], "order_confirmation");
    assert_eq!(notification["recipient"]["email"], "liwei@example.com");
    assert_eq!(notification["recipient"]["name"], "Li Wei");
    assert_eq!(notification["recipient"]["phone"], "+86 21 5555 0101");
    assert_eq!(
        notification["recipient"]["customer_id"],
        order["customer_id"]
    );
    assert_eq!(notification["data"]["number"], order["number"]);
    assert_eq!(notification["data"]["total"], confirmed["data"]["total"]);
    // Internal events carry none.
    let created = event_of(&app, &order, "order.created").await;
    assert!(created.get("notification").is_none());

    // An incomplete order asks the customer for what is missing.
    let incomplete = place(&app, "NOTE-2", contact, false).await;
    let asked = event_of(&app, &incomplete, "order.info_requested").await;
    assert_eq!(
        asked["notification"]["template"],
        "order_information_request"
    );
    assert_eq!(
        asked["notification"]["recipient"]["email"],
        "liwei@example.com"
    );

    // Cancellation tells the customer too.
    let id = order["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/orders/{id}/cancel"),
        &app.admin(),
        &json!({"reason": "out of season"}),
    )
    .await
    .expect(200);
    let cancelled = event_of(&app, &order, "order.cancelled").await;
    assert_eq!(cancelled["notification"]["template"], "order_cancelled");
    assert_eq!(cancelled["notification"]["data"]["reason"], "out of season");
}

#[tokio::test]
async fn with_smtp_configured_notifications_are_emailed() {
    let smtp = SmtpServer::start().await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = spawn_app_with(&[
        ("DINGDAN_SMTP_URL", &url),
        ("DINGDAN_SMTP_FROM", "Tea House <orders@teahouse.example>"),
    ])
    .await;
    let order = place(
        &app,
        "NOTE-MAIL",
        json!({"name": "Li Wei", "phone": "+86 21 5555 0101", "email": "liwei@example.com"}),
        true,
    )
    .await;
    // No address, no email (the notification is still on the event).
    place(
        &app,
        "NOTE-NOMAIL",
        json!({"name": "Wang Fang", "phone": "+86 21 5555 0102"}),
        true,
    )
    .await;
    app.settle().await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.from, "<orders@teahouse.example>");
    assert_eq!(mail.to, vec!["<liwei@example.com>".to_owned()]);
    let number = order["number"].as_str().unwrap();
    assert!(
        mail.data
            .contains(&format!("Subject: Order {number} confirmed")),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("To: \"Li Wei\" <liwei@example.com>")
            || mail.data.contains("To: Li Wei <liwei@example.com>"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("SKU-N-NOTE-MAIL"), "{}", mail.data);
    // Settling again sends nothing twice.
    app.settle().await;
    assert_eq!(smtp.mails().len(), 1);
}

#[tokio::test]
async fn a_bad_smtp_setting_stops_the_server_with_a_message() {
    let vars = std::collections::HashMap::from([
        ("DATABASE_URL", "sqlite::memory:"),
        ("DINGDAN_SMTP_URL", "smtp://127.0.0.1:25"),
        ("DINGDAN_SMTP_FROM", "not a mailbox"),
    ]);
    let error =
        dingdan::settings::Settings::load(&|key| vars.get(key).map(|v| v.to_string())).unwrap_err();
    assert_eq!(error.variable, "DINGDAN_SMTP_FROM");
}
