CREATE TABLE `ai_providers` (
	`repo_id` text NOT NULL,
	`ai_type` text NOT NULL,
	`sealed_api_key` text NOT NULL,
	`api_key_last4` text NOT NULL,
	`base_url` text,
	`set_at` text NOT NULL,
	`set_by` text NOT NULL,
	PRIMARY KEY(`repo_id`, `ai_type`),
	FOREIGN KEY (`repo_id`) REFERENCES `repos`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `ai_keys` ADD `models` text;