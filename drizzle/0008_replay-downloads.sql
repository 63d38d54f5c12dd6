CREATE TYPE "public"."download_status" AS ENUM('none', 'pending', 'processing', 'ready', 'failed');--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "download_status" "download_status" DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "download_percent" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "download_size_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "download_error" text;