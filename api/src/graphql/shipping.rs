//! Shipping: carriers and services, quotes, shipments, tracking, courier
//! accounts and manifests.

use async_graphql::{Context, Json, Object, Result};
use chrono::NaiveDate;
use uuid::Uuid;

use super::{actor, db};
use crate::service::idempotency::Idempotency;
use crate::service::shipping;
use crate::wire::shipping::{
    CarrierBody, CarrierInput, CarrierServiceBody, CourierAccountBody, CourierAccountInput,
    ManifestBody, QuoteBody, SelectionBody, ServiceInput, ServicePatchInput, ShipmentBody,
    ShipmentInput, TrackingEntryBody, TrackingEventInput, offset_param,
};

#[derive(Default)]
pub struct ShippingQuery;

#[Object]
impl ShippingQuery {
    /// Every carrier with its services.
    async fn carriers(&self, ctx: &Context<'_>) -> Result<Vec<CarrierBody>> {
        Ok(shipping::list_carriers(db(ctx)?, actor(ctx)?)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn carrier(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<CarrierBody>> {
        Ok(Some(
            shipping::get_carrier(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    /// The selection engine over an order's packages (all unshipped ones
    /// unless listed): every service with price, ETA and why it won or lost.
    async fn shipping_quote(
        &self,
        ctx: &Context<'_>,
        order_id: Uuid,
        #[graphql(default)] input: QuoteBody,
    ) -> Result<SelectionBody> {
        Ok(shipping::quote(db(ctx)?, actor(ctx)?, order_id, input)
            .await?
            .into())
    }

    /// An order's shipments, oldest first.
    async fn shipments(&self, ctx: &Context<'_>, order_id: Uuid) -> Result<Vec<ShipmentBody>> {
        Ok(shipping::list_shipments(db(ctx)?, actor(ctx)?, order_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn shipment(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<ShipmentBody>> {
        Ok(Some(
            shipping::get_shipment(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    /// A shipment's tracking timeline, in the order things happened.
    async fn shipment_tracking(
        &self,
        ctx: &Context<'_>,
        shipment_id: Uuid,
    ) -> Result<Vec<TrackingEntryBody>> {
        Ok(shipping::tracking(db(ctx)?, actor(ctx)?, shipment_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// A carrier's shipments handed over on one local day (`utcOffset`
    /// such as `+08:00`; UTC when absent).
    async fn shipping_manifest(
        &self,
        ctx: &Context<'_>,
        carrier: String,
        date: NaiveDate,
        utc_offset: Option<String>,
    ) -> Result<ManifestBody> {
        let offset = offset_param(utc_offset.as_deref())
            .map_err(crate::service::ServiceError::Validation)?;
        Ok(
            shipping::manifest(db(ctx)?, actor(ctx)?, &carrier, date, offset)
                .await?
                .into(),
        )
    }

    /// Courier tracking feeds (`webhookUrl` is relative to this server).
    async fn courier_accounts(&self, ctx: &Context<'_>) -> Result<Vec<CourierAccountBody>> {
        Ok(shipping::list_courier_accounts(db(ctx)?, actor(ctx)?)
            .await?
            .into_iter()
            .map(|a| CourierAccountBody::new(a, ""))
            .collect())
    }
}

#[derive(Default)]
pub struct ShippingMutation;

#[Object]
impl ShippingMutation {
    async fn create_carrier(&self, ctx: &Context<'_>, input: CarrierInput) -> Result<CarrierBody> {
        Ok(shipping::create_carrier(db(ctx)?, actor(ctx)?, input)
            .await?
            .into())
    }

    /// Adds a service; `input` has REST's `ServiceInput` shape (code, name,
    /// mode, currency, terms, active).
    async fn add_carrier_service(
        &self,
        ctx: &Context<'_>,
        carrier_id: Uuid,
        input: Json<ServiceInput>,
    ) -> Result<CarrierServiceBody> {
        Ok(
            shipping::add_service(db(ctx)?, actor(ctx)?, carrier_id, input.0)
                .await?
                .into(),
        )
    }

    /// Changes a service; `input` has REST's `ServicePatchInput` shape.
    async fn update_carrier_service(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: Json<ServicePatchInput>,
    ) -> Result<CarrierServiceBody> {
        Ok(shipping::update_service(db(ctx)?, actor(ctx)?, id, input.0)
            .await?
            .into())
    }

    /// Hands packages to a carrier (the engine chooses unless told; an
    /// override needs `overrideReason`).
    async fn create_shipment(
        &self,
        ctx: &Context<'_>,
        order_id: Uuid,
        input: ShipmentInput,
    ) -> Result<ShipmentBody> {
        let created =
            shipping::create_shipment(db(ctx)?, actor(ctx)?, order_id, input, Idempotency::none())
                .await?;
        Ok(created.into_new()?.into())
    }

    /// Records a tracking event by hand (with `delivered` and `signedBy`:
    /// the proof of delivery).
    async fn record_tracking_event(
        &self,
        ctx: &Context<'_>,
        shipment_id: Uuid,
        input: TrackingEventInput,
    ) -> Result<ShipmentBody> {
        Ok(
            shipping::record_tracking(db(ctx)?, actor(ctx)?, shipment_id, input)
                .await?
                .into(),
        )
    }

    /// Registers a courier tracking feed.
    async fn create_courier_account(
        &self,
        ctx: &Context<'_>,
        input: CourierAccountInput,
    ) -> Result<CourierAccountBody> {
        Ok(CourierAccountBody::new(
            shipping::create_courier_account(db(ctx)?, actor(ctx)?, input).await?,
            "",
        ))
    }
}
