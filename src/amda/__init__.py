"""AMDA: adversarial and mixup data augmentation for robust fine-tuning."""
