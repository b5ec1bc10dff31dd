ALTER TABLE `ai_keys` ADD `disabled_reason` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `leaked_at` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `leak_source` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `leak_url` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `leaked_secret_digest` text;--> statement-breakpoint
CREATE INDEX `ai_keys_leaked_secret_digest_idx` ON `ai_keys` (`leaked_secret_digest`) WHERE "ai_keys"."leaked_secret_digest" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `secret_digest` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `previous_secret_digest` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `disabled_reason` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `leaked_at` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `leak_source` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `leak_url` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `leaked_secret_digest` text;--> statement-breakpoint
CREATE UNIQUE INDEX `storage_keys_secret_digest_idx` ON `storage_keys` (`secret_digest`);--> statement-breakpoint
CREATE UNIQUE INDEX `storage_keys_previous_secret_digest_idx` ON `storage_keys` (`previous_secret_digest`);--> statement-breakpoint
CREATE INDEX `storage_keys_leaked_secret_digest_idx` ON `storage_keys` (`leaked_secret_digest`) WHERE "storage_keys"."leaked_secret_digest" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `leak_response` text DEFAULT 'disable' NOT NULL;