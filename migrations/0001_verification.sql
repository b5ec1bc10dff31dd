ALTER TABLE `ai_keys` ADD `secret_digest` text;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `last_used_at` text;--> statement-breakpoint
CREATE UNIQUE INDEX `ai_keys_secret_digest_idx` ON `ai_keys` (`secret_digest`);