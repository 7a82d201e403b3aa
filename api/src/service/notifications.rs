//! Customer notifications: customer-facing events carry a `notification`
//! (recipient, template, data) in their payload for any mail or SMS sender;
//! when SMTP is configured, Dingdan also sends them as email itself, one job
//! per event.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncTransport as _, Message};
use sea_orm::EntityTrait as _;
use serde_json::Value;
use uuid::Uuid;

use dingdan_entity::outbox;

use super::Db;

/// Whether the event should go out by email: SMTP configured and a
/// recipient address present.
pub(crate) fn wants_email(db: &Db, payload: &Value) -> bool {
    db.config().smtp.is_some()
        && payload["notification"]["recipient"]["email"]
            .as_str()
            .is_some_and(|e| e.contains('@'))
}

/// Sends one event's notification email (the job's work).
pub(crate) async fn send_email(db: &Db, event_id: Uuid) -> anyhow::Result<()> {
    let Some(config) = db.config().smtp.clone() else {
        return Ok(()); // Unconfigured since it was queued.
    };
    let Some(event) = outbox::Entity::find_by_id(event_id).one(db.read()).await? else {
        return Ok(());
    };
    let notification = &event.payload["notification"];
    let recipient = &notification["recipient"];
    let Some(address) = recipient["email"].as_str() else {
        return Ok(());
    };
    let to = Mailbox::new(
        recipient["name"].as_str().map(str::to_owned),
        address
            .parse()
            .map_err(|e| anyhow::anyhow!("the recipient {address:?} is not an address: {e}"))?,
    );
    let template = notification["template"].as_str().unwrap_or_default();
    let (subject, body) = render(template, &notification["data"]);
    let message = Message::builder()
        .from(config.from.parse()?)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        // The event id makes the message traceable and lets mail systems
        // drop a duplicate send after a retried job.
        .message_id(Some(format!("<{event_id}@dingdan>")))
        .body(body)?;
    let mailer = db.mailer.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        match lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&config.url) {
            Ok(builder) => builder.build(),
            // Checked at start-up; unreachable unless the config changed.
            Err(error) => {
                tracing::error!(%error, "DINGDAN_SMTP_URL is not usable");
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::unencrypted_localhost()
            }
        }
    });
    mailer.send(message).await?;
    tracing::info!(event = %event_id, template, "notification email sent");
    Ok(())
}

fn text(data: &Value, key: &str) -> String {
    match &data[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Subject and plain-text body of a template.
pub(crate) fn render(template: &str, data: &Value) -> (String, String) {
    let number = text(data, "number");
    let name = data["contact"]["name"]
        .as_str()
        .unwrap_or("customer")
        .to_owned();
    let greeting = format!("Dear {name},\n\n");
    match template {
        "order_confirmation" => {
            let mut lines = String::new();
            for line in data["lines"].as_array().into_iter().flatten() {
                lines.push_str(&format!(
                    "  {} × {}  {}\n",
                    text(line, "quantity"),
                    text(line, "sku"),
                    text(line, "total")
                ));
            }
            (
                format!("Order {number} confirmed"),
                format!(
                    "{greeting}we have received and confirmed your order {number}.\n\n{lines}\nTotal: {} {}\nPromised delivery: {}\n",
                    text(data, "total"),
                    text(data, "currency"),
                    text(data, "promised_delivery_date"),
                ),
            )
        }
        "order_information_request" => {
            let mut findings = String::new();
            for finding in data["findings"].as_array().into_iter().flatten() {
                findings.push_str(&format!("  - {}\n", text(finding, "message")));
            }
            (
                "We need more information for your order".to_owned(),
                format!(
                    "{greeting}your order {} cannot be processed until we have:\n\n{findings}\nPlease reply to this message or update the order.\n",
                    if number.is_empty() {
                        text(data, "external_ref")
                    } else {
                        number.clone()
                    },
                ),
            )
        }
        "order_delay" => (
            format!("Part of order {number} is delayed"),
            format!(
                "{greeting}{} unit(s) of your order {number} are waiting for stock. We will ship them as soon as they arrive.\n",
                text(data, "backordered"),
            ),
        ),
        "order_rejected" => (
            format!("Order {number} could not be accepted"),
            format!(
                "{greeting}we are sorry: your order {number} could not be accepted. {}\n",
                text(data, "comment"),
            ),
        ),
        "order_cancelled" => (
            format!("Order {number} cancelled"),
            format!(
                "{greeting}your order {number} has been cancelled. Reason: {}\n",
                text(data, "reason"),
            ),
        ),
        "pre_arrival" => {
            let number = text(data, "order_number");
            (
                format!("Order {number} arrives today"),
                format!(
                    "{greeting}your order {number} is out for delivery with {} (tracking number {}). {}\n",
                    text(data, "carrier_code"),
                    text(data, "tracking_number"),
                    text(data, "message"),
                ),
            )
        }
        other => (
            format!("Update on order {number}"),
            format!("{greeting}there is an update on your order {number} ({other}).\n"),
        ),
    }
}
