DROP TABLE day_one_rule_changes;
