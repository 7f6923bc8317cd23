DELETE FROM notice_runs WHERE job = 'reminder_schedule_backfill';
DROP TABLE reminder_schedule;
