CREATE TABLE `ai_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`repo_id` text NOT NULL,
	`name` text NOT NULL,
	`ai_type` text NOT NULL,
	`key` text NOT NULL,
	`sealed_secret` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	`deleted_by` text,
	FOREIGN KEY (`repo_id`) REFERENCES `repos`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ai_keys_key_idx` ON `ai_keys` (`key`);--> statement-breakpoint
CREATE INDEX `ai_keys_repo_active_idx` ON `ai_keys` (`repo_id`,`created_at`,`id`) WHERE "ai_keys"."deleted_at" IS NULL;--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`at` text NOT NULL,
	`actor_id` text NOT NULL,
	`workspace_id` text NOT NULL,
	`repo_id` text,
	`target_id` text,
	`request_id` text NOT NULL,
	`ip` text,
	`user_agent` text,
	`changes` text,
	`dead_lettered` integer DEFAULT false NOT NULL,
	`stored_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_repo_idx` ON `audit_events` (`repo_id`,`at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_workspace_idx` ON `audit_events` (`workspace_id`,`at`,`id`);--> statement-breakpoint
CREATE TABLE `repos` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repos_workspace_name_idx` ON `repos` (`workspace_id`,`name`);--> statement-breakpoint
CREATE TABLE `storage_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`repo_id` text NOT NULL,
	`name` text NOT NULL,
	`access_type` text NOT NULL,
	`key` text NOT NULL,
	`sealed_secret` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`last_used_at` text,
	`deleted_at` text,
	`deleted_by` text,
	FOREIGN KEY (`repo_id`) REFERENCES `repos`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `storage_keys_key_idx` ON `storage_keys` (`key`);--> statement-breakpoint
CREATE INDEX `storage_keys_repo_active_idx` ON `storage_keys` (`repo_id`,`created_at`,`id`) WHERE "storage_keys"."deleted_at" IS NULL;--> statement-breakpoint
CREATE TABLE `workspace_members` (
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `user_id`),
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `workspace_members_user_idx` ON `workspace_members` (`user_id`,`workspace_id`);--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL
);
