ALTER TABLE `ai_keys` ADD `status` text DEFAULT 'ACTIVE' NOT NULL;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `expires_at` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `previous_sealed_secret` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `previous_secret_digest` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `previous_secret_expires_at` text;--> statement-breakpoint
CREATE UNIQUE INDEX `ai_keys_previous_secret_digest_idx` ON `ai_keys` (`previous_secret_digest`);--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `status` text DEFAULT 'ACTIVE' NOT NULL;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `expires_at` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `previous_sealed_secret` text;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `previous_secret_expires_at` text;