ALTER TABLE `ai_keys` ADD `ratelimit_limit` integer;--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `ratelimit_period_seconds` integer;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `ratelimit_limit` integer;--> statement-breakpoint
ALTER TABLE `storage_keys` ADD `ratelimit_period_seconds` integer;