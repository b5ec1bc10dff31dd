CREATE TABLE `key_usage` (
	`scale` text NOT NULL,
	`key_id` text NOT NULL,
	`t` integer NOT NULL,
	`kind` text NOT NULL,
	`code` text NOT NULL,
	`transport` text NOT NULL,
	`caller` text NOT NULL,
	`repo_id` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`scale`, `key_id`, `t`, `kind`, `code`, `transport`, `caller`)
);
--> statement-breakpoint
CREATE INDEX `key_usage_repo_idx` ON `key_usage` (`scale`,`repo_id`,`t`);--> statement-breakpoint
CREATE INDEX `key_usage_scale_t_idx` ON `key_usage` (`scale`,`t`);--> statement-breakpoint
CREATE TABLE `usage_rollups` (
	`scale` text PRIMARY KEY NOT NULL,
	`through` integer NOT NULL
);
