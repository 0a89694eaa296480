"""pandera schemas: the raw input contract (`schemas.raw`) and the output assets."""
