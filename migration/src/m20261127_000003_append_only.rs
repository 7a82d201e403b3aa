//! The stock ledger and the order timeline are append-only: the database
//! itself refuses to update or delete their rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = ["stock_movements", "order_events"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION dingdan_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
                )
                .await?;
                for table in TABLES {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                         FOR EACH ROW EXECUTE FUNCTION dingdan_append_only()"
                    ))
                    .await?;
                }
            }
            DatabaseBackend::Sqlite => {
                for table in TABLES {
                    for operation in ["UPDATE", "DELETE"] {
                        let lower = operation.to_lowercase();
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_append_only_{lower} BEFORE {operation} ON {table}
                             BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                        ))
                        .await?;
                    }
                }
            }
            other => return Err(DbErr::Migration(format!("unsupported database {other:?}"))),
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for table in TABLES {
                    db.execute_unprepared(&format!("DROP TRIGGER {table}_append_only ON {table}"))
                        .await?;
                }
                db.execute_unprepared("DROP FUNCTION dingdan_append_only()")
                    .await?;
            }
            _ => {
                for table in TABLES {
                    for operation in ["update", "delete"] {
                        db.execute_unprepared(&format!(
                            "DROP TRIGGER {table}_append_only_{operation}"
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }
}
